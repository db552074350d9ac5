"""Issue 14, end to end through the web chat and the inbox: what staff do to a case reaches the conversation.

After "documents observed" with a document named, the applicant's next photo fills that document wherever the
chat stands; after a hand-back the bot quotes the case's status from the case, not from what the chat last saw;
"Send pending documents" is offered only while something is pending; taking a chat tells the applicant who;
and links in messages lead to the port `ptibot serve` listens on.
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import re
import urllib.request
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.core.clock import utcnow
from bot.wiring import Services
from bot.worker.outbox import Dispatcher
from flows.rules.payments import deadline, first_period, long_date
from locales import translate
from storage.models import Case, Document, Email
from tests.helpers import (
    Phone,
    conversation_id_of,
    enrolled_applicant,
    environment,
    file_with_imss,
    post_form,
    serving,
)
from tests.samples import document_photo, pdf_document


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def polled(phone: Phone, services: Services) -> list[dict[str, Any]]:
    Dispatcher(services.database, services.cipher, services.senders).run_once()
    return list(phone.client.get("/webchat/api/messages?after=0").get_json()["messages"])


def case_id(services: Services) -> int:
    with services.database.session_scope() as session:
        return int(session.execute(select(Case.id)).scalar_one())


def test_observed_document_then_hand_back_quote_the_case_as_it_is(staff_client: FlaskClient, phone: Phone,
                                                                  services: Services) -> None:
    enrolled_applicant(phone)
    cid, case = conversation_id_of(services, phone), case_id(services)
    status = f"/inbox/c/{cid}/case/{case}/status"
    phone.send("estado")
    assert es("Send pending documents") not in phone.buttons()  # nothing is pending: nothing to send
    assert post_form(staff_client, status, status="documents_observed", reason="Está borrosa",
                     document="proof_of_address").status_code == 302
    texts = [message["text"] for message in polled(phone, services)]
    assert es("Our team needs your %(document)s again: %(reason)s",
              document=es("proof of address (less than 3 months old)"), reason="Está borrosa") in texts
    phone.send("menu")  # the applicant wanders off, then sends the photo from the menu
    replies = phone.upload(document_photo(seed=11), "recibo-nuevo.jpg")
    assert es("Received, thank you! ✅") in [reply["text"] for reply in replies]
    with services.database.session_scope() as session:
        slots = [d.slot for d in session.execute(select(Document).order_by(Document.id)).scalars()]
    assert slots[-1] == "proof_of_address"
    phone.send("estado")
    assert es("documents need attention") in phone.text()
    phone.send("asesor")
    assert post_form(staff_client, status, status="in_review").status_code == 302
    assert post_form(staff_client, f"/inbox/c/{cid}/hand-back").status_code == 302
    latest = polled(phone, services)[-1]
    assert es("in review") in latest["text"] and es("documents need attention") not in latest["text"]
    assert es("Send pending documents") not in [button["title"] for button in latest["buttons"]]


def test_a_document_is_asked_for_again_only_with_documents_observed(staff_client: FlaskClient, phone: Phone,
                                                                    services: Services) -> None:
    enrolled_applicant(phone)
    cid, case = conversation_id_of(services, phone), case_id(services)
    response = post_form(staff_client, f"/inbox/c/{cid}/case/{case}/status", status="in_review",
                         document="id_front")
    assert response.status_code == 303
    with services.database.session_scope() as session:
        assert session.execute(select(Case.status)).scalar_one() == "received"


def test_taking_a_chat_tells_the_applicant_who_and_a_quiet_spell_gets_one_line(
        staff_client: FlaskClient, phone: Phone, services: Services) -> None:
    phone.send("hola")
    phone.send("asesor")
    cid = conversation_id_of(services, phone)
    assert post_form(staff_client, f"/inbox/c/{cid}/take").status_code == 302
    assert polled(phone, services)[-1]["text"] == es("%(name)s from our team is now with you and will reply here.",
                                                     name="Ana")
    assert phone.send("gracias") == []  # a person just spoke: no line over them


def test_links_point_at_the_port_serve_listens_on(database_url: str, tmp_path: Path) -> None:
    """`ptibot serve --port N` without PUBLIC_BASE_URL: the links in messages lead to port N, not 8000."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with serving(environment(database_url, tmp_path)) as base:
        for text in ("hola", "¿es seguro dar mi CURP?"):
            request = urllib.request.Request(f"{base}/webchat/api/messages", method="POST",
                                             data=json.dumps({"text": text}).encode(),
                                             headers={"Content-Type": "application/json"})
            with opener.open(request, timeout=10) as response:
                replies = json.loads(response.read())["messages"]
    assert f"{base}/legal/privacy" in replies[0]["text"] and ":8000" not in replies[0]["text"]


def test_the_results_quote_the_payment_deadline_with_its_month(staff_client: FlaskClient, phone: Phone,
                                                               services: Services) -> None:
    """ "Págala a más tardar el 20 de diciembre de 2026", not "el día 20"; the email is signed by BUSINESS_NAME."""
    enrolled_applicant(phone)
    cid, case = conversation_id_of(services, phone), case_id(services)
    file_with_imss(staff_client, cid, case)
    with staff_client.session_transaction() as session:
        token = session["csrf"]
    response = staff_client.post(f"/inbox/c/{cid}/case/{case}/results", content_type="multipart/form-data",
                                 data={"csrf_token": token, "receipt": (io.BytesIO(pdf_document()), "r.pdf"),
                                       "payment_slip": (io.BytesIO(pdf_document(seed=2)), "l.pdf")})
    assert response.status_code == 302
    when = long_date(deadline(first_period(utcnow(), ZoneInfo("America/Mexico_City"))), "es_MX")
    assert re.fullmatch(r"\d{1,2} de [a-z]+ de 20\d\d", when)
    texts = [message["text"] for message in polled(phone, services)]
    assert f"Págala a más tardar el {when} en el banco" in texts[-1]
    assert any("presentado ante el IMSS" in text for text in texts)  # "ante el IMSS", not "ante IMSS"
    with services.database.session_scope() as session:
        sent = message_from_bytes(services.cipher.decrypt(session.execute(
            select(Email.message).order_by(Email.id.desc()).limit(1)).scalar_one()),
                                  policy=default)
    assert isinstance(sent, EmailMessage)
    assert str(sent["From"]).startswith("Gestoría PTI <")  # BUSINESS_NAME, as MAIL_FROM has no name of its own
    plain = sent.get_body(("plain",))
    assert plain is not None and "El equipo de Gestoría PTI" in plain.get_content()
    assert f"a más tardar el {when}" in plain.get_content()
