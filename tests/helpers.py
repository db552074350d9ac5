"""What the tests share besides fixtures: a sample applicant, test secrets, settings, and the people who talk to
the bot (a web-chat phone, a WhatsApp user, a staff member), so that no test module imports another.

Fixtures stay in conftest.py; loopback fakes of providers in tests/fakes/; generated uploads in tests/samples.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.config import Settings, normalise_database_url
from bot.core.clock import utcnow
from bot.web.context import services_of
from bot.wiring import Services
from bot.worker.outbox import Dispatcher
from storage.models import Case, Contact, Conversation
from storage.payments import PaymentRepository
from storage.staff import StaffRepository
from tests.samples import document_photo, id_card_photo, pdf_document, png_photo

ROOT = Path(__file__).resolve().parent.parent
IN_CI = bool(os.environ.get("CI"))

# -- the sample applicant: valid, consistent identifiers (the RFC and the NSS agree with the CURP) --------------
FULL_NAME = "Eduardo González Díaz"
CURP = "GODE561231HDFNZD03"
RFC = "GODE561231GR8"
NSS = "12345612340"
# Answers to the eligibility questions up to the health consent that make the applicant "probably qualifies":
# own income, not public administration, not salaried, Mexican, in Mexico, first registered after 1997,
# 18 to 59, no pension. The health questions (a pre-existing condition, then a pregnancy or a planned surgery)
# come only after the health consent: "2" skips them all, or HEALTHY authorises and answers no to both.
ELIGIBLE = ["si", "no", "no", "1", "1", "2", "2", "no"]
HEALTHY = ["autorizo", "no", "no"]

# -- secrets and addresses of the test configuration ----------------------------------------------------------
TEST_KEY = Fernet.generate_key().decode()
TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "s3cret-token-for-tests"
PUBLIC_URL = "https://bot.example.mx"
WHATSAPP_FROM = "whatsapp:+14155238886"
STATUS_TEMPLATE = "HX" + "5" * 32
PASSWORD = "correct horse battery"  # the staff password `make_staff` sets


def skip_or_fail(reason: str) -> None:
    """Outside CI a missing service skips with its reason; under CI a skip would hide a gap, so fail."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def postgres_url() -> str | None:
    """The PostgreSQL server the suite runs on (DATABASE_URL), or None for SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    return normalise_database_url(url) if url.startswith(("postgres://", "postgresql")) else None


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test", "data_dir": data_dir, "database_url": database_url, "secret_key": "test-secret",
        "data_encryption_keys": (TEST_KEY,), "default_locale": "es_MX",
        "business_hours": "mon-sun 00:00-23:59",  # always open, unless a test says otherwise
        # A scripted applicant answers far faster than a person: web-chat rate limits are for the tests that test them.
        "webchat_message_limit": "10000/minute", "webchat_address_limit": "10000/minute",
        "webchat_session_limit": "10000/minute", "webchat_upload_limit": "10000/minute",
    }
    values.update(overrides)
    return Settings(**values)


# -- the web chat ---------------------------------------------------------------------------------------------
class Phone:
    """A web-chat user: sends texts or button payloads and keeps the last buttons it saw."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.last: list[dict[str, Any]] = []

    def send(self, text: str | None = None, *, payload: str | None = None,
             message_id: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"id": message_id or uuid.uuid4().hex}
        if text is not None:
            body["text"] = text
        if payload is not None:
            body["payload"] = payload
        response = self.client.post("/webchat/api/messages", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.last = response.get_json()["messages"]
        return self.last

    def upload(self, content: bytes, filename: str = "foto.jpg", message_id: str | None = None,
               status: int = 200) -> list[dict[str, Any]]:
        response = self.client.post("/webchat/api/messages", content_type="multipart/form-data", data={
            "id": message_id or uuid.uuid4().hex, "file": (io.BytesIO(content), filename)})
        assert response.status_code == status, response.get_data(as_text=True)
        self.last = response.get_json().get("messages", [])
        return self.last

    def press(self, title: str) -> list[dict[str, Any]]:
        """Press the button with this title among the last replies."""
        for message in reversed(self.last):
            for button in message["buttons"]:
                if button["title"] == title:
                    return self.send(payload=button["payload"])
        raise AssertionError(f"no button {title!r} in {self.buttons()}")

    def poll(self) -> list[dict[str, Any]]:
        """Fetch what was queued for this phone since its last reply (a payment confirmed, a staff reply…)."""
        after = max((int(message["id"]) for message in self.last), default=0)
        response = self.client.get(f"/webchat/api/messages?after={after}")
        assert response.status_code == 200, response.get_data(as_text=True)
        self.last = response.get_json()["messages"]
        return self.last

    def text(self) -> str:
        return "\n".join(message["text"] for message in self.last)

    def buttons(self) -> list[str]:
        return [button["title"] for message in self.last for button in message["buttons"]]


def enrolled_applicant(phone: Phone) -> None:
    """The sample applicant goes from "hola" to a filed case with every document, through the web chat."""
    applicant_at_summary(phone)
    phone.send("1")
    pay_by_transfer(phone)
    assert re.search(r"PTI-2026-\d{6}", phone.text())


def applicant_at_the_name(phone: Phone) -> None:
    """The sample applicant goes from "hola" through consent and eligibility to the question of their name."""
    phone.send("hola")
    phone.send("1")
    phone.send("acepto")
    phone.send("acepto")
    for answer in [*ELIGIBLE, "2", "continuar"]:
        phone.send(answer)


def applicant_at_summary(phone: Phone) -> None:
    """The sample applicant goes from "hola" to the summary of their data with every document."""
    applicant_at_the_name(phone)
    for answer in (FULL_NAME, CURP, RFC, NSS, "ana@example.mx", "si", "5512345678", "06600",
                   "Av. Juárez 123, Centro, CDMX", "carpintero", "si", "15000", "mensual", "continuar", "no"):
        phone.send(answer)
    phone.upload(id_card_photo(), "frente.jpg")
    phone.upload(png_photo(seed=3), "reverso.png")
    phone.upload(pdf_document(), "constancia.pdf")
    phone.upload(document_photo(seed=4), "recibo.jpg")
    phone.send("omitir")


def pay_by_transfer(phone: Phone) -> None:
    """At the contract: accept it, send a SPEI transfer receipt, and have staff confirm it; the case is then filed
    and its folio is in `phone.last`."""
    phone.send("acepto")
    assert "CLABE" in phone.text(), phone.text()
    phone.upload(document_photo(seed=17), "transferencia.jpg")
    confirm_pending_payment(services_of(phone.client.application))
    phone.poll()


def membership_accepted(phone: Phone, plan: str = "mensual", frequency: str = "mensual") -> None:
    """From the menu: the membership's plans, one chosen, how often the applicant pays IMSS, and the membership
    accepted; the bot then shows how to pay (SPEI without Stripe, the methods with it)."""
    phone.send("hola")
    phone.send("7")
    phone.send("si")
    phone.send(plan)
    phone.send(frequency)
    phone.send("acepto")


def buy_membership(phone: Phone, plan: str = "mensual", frequency: str = "mensual", seed: int = 23) -> None:
    """The membership bought by SPEI: accepted, the transfer receipt sent, and staff confirm it; it is active."""
    membership_accepted(phone, plan, frequency)
    assert "CLABE" in phone.text(), phone.text()
    phone.upload(document_photo(seed=seed), "membresia.jpg")
    confirm_pending_payment(services_of(phone.client.application))
    phone.poll()


def confirm_pending_payment(services: Services, actor: str = "ana@gestoria.mx") -> None:
    """Staff confirm the oldest pending payment, as the inbox does (bot.service.payments)."""
    with services.database.session_scope() as session:
        pending = PaymentRepository(session).pending(limit=1)
        assert pending, "no pending payment"
        assert services.turns.payments.apply_paid(session, pending[0].id, actor, utcnow())


# -- Telegram and WhatsApp ------------------------------------------------------------------------------------
def telegram_text_update(update_id: int, chat_id: int, text: str, language: str = "es") -> dict[str, Any]:
    """A Telegram `Update` carrying one text message from Ana, as the webhook receives it."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Ana", "language_code": language}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1764300000, "chat": {"id": chat_id, "type": "private"},
        "from": user, "text": text}}


def post_signed(client: FlaskClient, api: Any, path: str, params: dict[str, str],
                base: str = PUBLIC_URL) -> Any:
    """POST a Twilio webhook signed the way Twilio signs it, for the URL Twilio called."""
    signature = RequestValidator(api.auth_token).compute_signature(base + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def drain_outbox(services: Services) -> None:
    """Send everything queued, running the dispatcher and the worker's next job until both find nothing to do."""
    assert services.worker is not None
    dispatcher = Dispatcher(services.database, services.cipher, services.senders)
    for _ in range(50):
        if dispatcher.run_once() + services.worker.jobs[1].run_once() == 0:
            return


class WhatsAppUser:
    """A WhatsApp user on the fake Twilio: says things through signed webhooks and reads what was sent back."""

    def __init__(self, client: FlaskClient, services: Services, api: Any, number: str) -> None:
        self.client, self.services, self.api, self.number = client, services, api, number

    def received(self) -> list[dict[str, Any]]:
        return [m for m in self.api.messages() if m.get("To") == f"whatsapp:{self.number}"]

    def say(self, body: str, **extra: Any) -> list[str]:
        before = len(self.received())
        response = post_signed(self.client, self.api, "/webhooks/whatsapp",
                               self.api.inbound_payload(f"whatsapp:{self.number}", body, **extra))
        assert response.status_code == 200 and response.mimetype == "text/xml"
        assert response.get_data(as_text=True) == "<Response/>"
        drain_outbox(self.services)
        return [m.get("Body", "") for m in self.received()[before:]]

    def send_media(self, *files: tuple[bytes, str]) -> list[str]:
        media = [(self.api.add_media(content, kind), kind) for content, kind in files]
        return self.say("", media=media)


# -- the staff inbox ------------------------------------------------------------------------------------------
STATUS_NEWS = "News about your case *%(folio)s*: it is now %(status)s."


def make_staff(services: Services, email: str = "ana@gestoria.mx", role: str = "agent") -> None:
    with services.database.session_scope() as session:
        StaffRepository(session).create(email, PASSWORD, role, utcnow(), name="Ana")


def csrf(client: FlaskClient) -> str:
    """The CSRF token of the client's session, as the login page sets it."""
    client.get("/inbox/login")
    with client.session_transaction() as session:
        return str(session["csrf"])


def login(client: FlaskClient, email: str = "ana@gestoria.mx", password: str = PASSWORD) -> Any:
    token = csrf(client)
    return client.post("/inbox/login", data={"email": email, "password": password, "csrf_token": token})


def post_form(client: FlaskClient, url: str, **data: Any) -> Any:
    """POST an inbox form as the page does, with the session's CSRF token."""
    with client.session_transaction() as session:
        token = session["csrf"]
    return client.post(url, data={"csrf_token": token, **data})


def file_with_imss(staff: FlaskClient, conversation_id: int, case_id: int) -> None:
    """The receipt comes only after the case was filed with IMSS."""
    for status in ("in_review", "filed_with_imss"):
        url = f"/inbox/c/{conversation_id}/case/{case_id}/status"
        assert post_form(staff, url, status=status).status_code == 302


def folio(services: Services) -> str:
    """The folio of the only case."""
    with services.database.session_scope() as session:
        return str(session.execute(select(Case.folio)).scalar_one())


def conversation_id_of_ref(services: Services, ref: str) -> int:
    """The conversation of the contact with this channel id."""
    with services.database.session_scope() as db:
        return int(db.execute(select(Conversation.id).join(Contact, Contact.id == Conversation.contact_id)
                              .where(Contact.external_hash == services.cipher.identifier_hash(ref))).scalar_one())


def conversation_id_of(services: Services, phone: Phone) -> int:
    """The conversation of this web-chat phone."""
    assert phone.client.get_cookie("session") is not None
    with phone.client.session_transaction() as session:
        ref = session["webchat_id"]
    return conversation_id_of_ref(services, ref)


# -- workers and real processes -------------------------------------------------------------------------------
def drain_concurrently(*run_onces: Callable[[], int]) -> None:
    """Call each `run_once` over and over on a thread of its own until it has found nothing to do three times in
    a row; return once every thread has stopped."""

    def drain(run_once: Callable[[], int]) -> None:
        idle = 0
        while idle < 3:
            idle = idle + 1 if run_once() == 0 else 0

    threads = [threading.Thread(target=drain, args=(run_once,)) for run_once in run_onces]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def environment(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `ptibot` process on this database: no provider settings leak in from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "PTIBOT_"))}
    env.update({"DATABASE_URL": database_url, "PTIBOT_DATA_DIR": str(data_dir), "SECRET_KEY": "x" * 32,
                "DATA_ENCRYPTION_KEYS": TEST_KEY, **extra})
    return env


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[str]:
    """`ptibot serve` as in `serve_process`; yields its base URL."""
    with serve_process(env, *args) as (base, _):
        yield base


@contextmanager
def serve_process(env: dict[str, str], *args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`ptibot serve` on a free port, healthy; SIGKILLed when the block ends, if it still runs."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port), *args], env=env,
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    raise AssertionError(f"serve did not start: {output}") from None
                time.sleep(0.1)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def post_json(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


def telegram_welcome(api: Any, chat: int) -> list[dict[str, Any]]:
    """The sendMessage calls the fake Bot API accepted for `chat`, in order, once the welcome and the menu (with
    its buttons, last) have arrived: as two messages, or as one when the rate was behind and the bubbles went
    joined (bot.worker.joining). Empty until then."""
    sent = [call.params for call in api.calls_to("sendMessage")
            if call.status == 200 and call.params["chat_id"] == chat]
    complete = bool(sent) and "IMSS" in sent[0]["text"] and bool(sent[-1].get("reply_markup"))
    return sent if complete else []
