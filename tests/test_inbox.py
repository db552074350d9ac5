"""The staff inbox over HTTP: login and its guards, the queue, take/reply/hand back, case work, safety."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.wiring import Services
from bot.worker.outbox import Dispatcher
from locales import translate
from storage.models import AuditEntry, Case, CaseEvent, Conversation, Document
from storage.staff import StaffRepository
from tests.helpers import (
    PASSWORD,
    STATUS_NEWS,
    TEST_KEY,
    Phone,
    conversation_id_of,
    conversation_id_of_ref,
    csrf,
    enrolled_applicant,
    file_with_imss,
    folio,
    login,
    make_staff,
    post_form,
)
from tests.samples import document_photo, pdf_document

ROOT = Path(__file__).resolve().parent.parent


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def deliver(services: Services) -> None:
    Dispatcher(services.database, services.cipher, services.senders).run_once()


def conversation_id(services: Services) -> int:
    with services.database.session_scope() as session:
        return int(session.execute(select(Conversation.id).where(Conversation.state != "")
                                   .order_by(Conversation.id.desc())).scalars().first())


def test_every_inbox_url_needs_a_login(app: Flask, services: Services, phone: Phone) -> None:
    phone.send("hola")
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/inbox") or rule.endpoint == "inbox.login":
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "1" if "id" in m.group(1) else "x", rule.rule)
        if "GET" in rule.methods:
            response = client.get(url)
            assert response.status_code in (302, 401), url
            if response.status_code == 302:
                assert "/inbox/login" in response.headers["Location"]
        if "POST" in rule.methods:
            token = csrf(client)
            assert client.post(url, data={"csrf_token": token}).status_code == 401, url


def test_forms_without_the_csrf_token_are_refused(staff_client: FlaskClient, services: Services,
                                                  phone: Phone) -> None:
    phone.send("hola")
    cid = conversation_id(services)
    assert staff_client.post(f"/inbox/c/{cid}/take").status_code == 400
    assert staff_client.post(f"/inbox/c/{cid}/take", data={"csrf_token": "forged"}).status_code == 400
    assert post_form(staff_client, f"/inbox/c/{cid}/take").status_code == 302
    fresh = staff_client.application.test_client()
    assert fresh.post("/inbox/login", data={"email": "ana@gestoria.mx", "password": PASSWORD}).status_code == 400


def test_wrong_passwords_are_rate_limited(app: Flask, services: Services) -> None:
    make_staff(services)
    client = app.test_client()
    for _ in range(5):
        assert login(client, password="wrong").status_code == 401
    assert login(client).status_code == 429  # even the right password waits now


def test_session_cookie_flags(app: Flask, services: Services) -> None:
    make_staff(services)
    response = login(app.test_client())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_waiting_conversation_is_on_top_then_take_reply_and_hand_back(staff_client: FlaskClient,
                                                                      services: Services, app: Flask) -> None:
    calm, waiting = Phone(app.test_client()), Phone(app.test_client())
    waiting.send("hola")
    waiting.send("4")
    waiting.send("asesor")
    calm.send("hola")
    page = staff_client.get("/inbox/").get_data(as_text=True)
    first_row = page.index('data-id="')
    assert f'data-id="{conversation_id_of(services, waiting)}"' in page[first_row:first_row + 20]
    assert es("Waiting") in page and es("asked for a person") in page
    cid = conversation_id_of(services, waiting)
    assert post_form(staff_client, f"/inbox/c/{cid}/take").status_code == 302
    reply = post_form(staff_client, f"/inbox/c/{cid}/reply", text="Hola, soy Ana. ¿En qué te ayudo?")
    assert reply.status_code == 302
    deliver(services)
    polled = waiting.client.get("/webchat/api/messages?after=0").get_json()["messages"]
    assert polled[-1]["text"] == "Hola, soy Ana. ¿En qué te ayudo?" and polled[-1]["author"] == "staff"
    assert waiting.send("gracias") == []  # the bot stays quiet while a person has it
    assert post_form(staff_client, f"/inbox/c/{cid}/hand-back").status_code == 302
    deliver(services)
    polled = waiting.client.get("/webchat/api/messages?after=0").get_json()["messages"]
    assert polled[-2]["text"] == es("You are back with the assistant. We were at: %(where)s.",
                                    where=es("the requirements"))
    assert "CURP" in polled[-1]["text"]
    assert "CURP" not in waiting.send("menu")[0]["text"]  # the bot talks again
    view = staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "Hola, soy Ana." in view and "gracias" in view


def test_notes_are_private(staff_client: FlaskClient, services: Services, phone: Phone) -> None:
    phone.send("hola")
    cid = conversation_id(services)
    post_form(staff_client, f"/inbox/c/{cid}/note", text="Llamar mañana")
    deliver(services)
    assert "Llamar mañana" in staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    polled = phone.client.get("/webchat/api/messages?after=0").get_json()["messages"]
    assert not any("Llamar" in m["text"] for m in polled)


def test_case_status_changes_are_recorded_and_announced(staff_client: FlaskClient, services: Services,
                                                        phone: Phone) -> None:
    enrolled_applicant(phone)
    cid = conversation_id(services)
    with services.database.session_scope() as session:
        case_id = session.execute(select(Case.id)).scalar_one()
    url = f"/inbox/c/{cid}/case/{case_id}/status"
    post_form(staff_client, url, status="enrolled")  # not allowed from "received"
    post_form(staff_client, url, status="documents_observed")  # needs a reason
    post_form(staff_client, url, status="in_review")
    deliver(services)
    text = phone.client.get("/webchat/api/messages?after=0").get_json()["messages"][-1]["text"]
    assert es(STATUS_NEWS, folio=folio(services), status=es("in review")) == text
    with services.database.session_scope() as session:
        events = [(e.status, e.actor) for e in session.execute(select(CaseEvent).order_by(CaseEvent.id)).scalars()]
        assert events == [("received", "applicant"), ("in_review", "ana@gestoria.mx")]
        assert session.execute(select(AuditEntry).where(AuditEntry.action == "case_status")).scalar_one()
    phone.send("estado")
    assert es("in review") in phone.text()


def test_rejecting_a_document_makes_the_bot_ask_again(staff_client: FlaskClient, services: Services,
                                                      phone: Phone) -> None:
    enrolled_applicant(phone)
    cid = conversation_id(services)
    with services.database.session_scope() as session:
        proof = session.execute(select(Document).where(Document.slot == "proof_of_address")).scalar_one()
        proof_id = proof.id
    post_form(staff_client, f"/inbox/c/{cid}/documents/{proof_id}/review", decision="reject")  # needs a reason
    post_form(staff_client, f"/inbox/c/{cid}/documents/{proof_id}/review", decision="reject",
              reason="El recibo tiene más de 3 meses")
    deliver(services)
    messages = phone.client.get("/webchat/api/messages?after=0").get_json()["messages"]
    assert "El recibo tiene más de 3 meses" in messages[-2]["text"]
    assert messages[-1]["text"] == es("Now a *proof of address* less than 3 months old (electricity, water, phone "
                                      "bill…).")
    replies = phone.upload(document_photo(seed=11), "nuevo.jpg")
    assert replies[0]["text"] == es("Received, thank you! ✅")
    with services.database.session_scope() as session:
        rows = {d.id: (d.slot, d.review_status) for d in session.execute(select(Document)).scalars()}
    assert rows[proof_id] == (None, "rejected")
    assert ("proof_of_address", "pending") in rows.values()


def test_receipt_and_payment_slip_reach_the_applicant_and_enroll_the_case(staff_client: FlaskClient,
                                                                          services: Services, phone: Phone) -> None:
    enrolled_applicant(phone)
    cid = conversation_id(services)
    with services.database.session_scope() as session:
        case_id = session.execute(select(Case.id)).scalar_one()
    with staff_client.session_transaction() as session:
        token = session["csrf"]
    early = staff_client.post(f"/inbox/c/{cid}/case/{case_id}/results", content_type="multipart/form-data",
                              data={"csrf_token": token, "receipt": (io.BytesIO(pdf_document()), "r.pdf"),
                                    "payment_slip": (io.BytesIO(pdf_document(seed=2)), "l.pdf")})
    assert early.status_code == 303  # not filed with IMSS yet: refused with a message
    file_with_imss(staff_client, cid, case_id)
    response = staff_client.post(f"/inbox/c/{cid}/case/{case_id}/results", content_type="multipart/form-data",
                                 data={"csrf_token": token, "receipt": (io.BytesIO(pdf_document()), "r.pdf"),
                                       "payment_slip": (io.BytesIO(pdf_document(seed=2)), "l.pdf")})
    assert response.status_code == 302
    deliver(services)
    last = phone.client.get("/webchat/api/messages?after=0").get_json()["messages"][-1]
    assert "🎉" in last["text"] and len(last["attachments"]) == 2
    link = last["attachments"][0]["url"]
    assert phone.client.get(link.split("127.0.0.1:8000")[-1]).data.startswith(b"%PDF")
    with services.database.session_scope() as session:
        assert session.execute(select(Case.status)).scalar_one() == "enrolled"
        slots = {d.slot for d in session.execute(select(Document).where(Document.case_id == case_id)).scalars()}
    assert {"imss_receipt", "payment_slip"} <= slots


def test_documents_need_a_login_and_every_view_is_audited(staff_client: FlaskClient, services: Services,
                                                         phone: Phone, app: Flask) -> None:
    enrolled_applicant(phone)
    with services.database.session_scope() as session:
        token = session.execute(select(Document.access_token).where(Document.slot == "id_front")).scalar_one()
    assert app.test_client().get(f"/inbox/documents/{token}").status_code == 401
    assert staff_client.get("/inbox/documents/guessed-token").status_code == 404
    response = staff_client.get(f"/inbox/documents/{token}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, no-store"
    with services.database.session_scope() as session:
        actions = [a.action for a in session.execute(select(AuditEntry)).scalars()]
    assert "view_document" in actions


def test_script_in_names_messages_and_filenames_is_shown_as_text(app: Flask, services: Services) -> None:
    from bot.core.messages import Attachment, Inbound

    evil = '<script>alert("x")</script>'
    attr = '" onmouseover="alert(1)'
    services.turns.handle(Inbound("webchat", "evil", "m1", text="hola", display_name=evil + attr))
    services.turns.handle(Inbound("webchat", "evil", "m2", text=f"<img src=x onerror=alert(2)> {attr}"))
    services.turns.handle(Inbound("telegram", "9", "m3", text="hola", display_name="x",
                                  attachments=(Attachment("document", "f", "application/pdf", evil + ".pdf"),)))
    make_staff(services)
    client = app.test_client()
    login(client)
    listing = client.get("/inbox/").get_data(as_text=True)
    assert "<script>alert" not in listing and "&lt;script&gt;" in listing
    cid = conversation_id_of_ref(services, "evil")
    page = client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert 'onmouseover="alert(1)' not in page
    polled = client.get(f"/inbox/c/{cid}/messages?after=0").get_json()["messages"]
    assert any("<img src=x" in m["text"] for m in polled)  # JSON carries text; the page inserts it as text


def test_canned_responses_fill_variables(staff_client: FlaskClient, services: Services, phone: Phone,
                                         app: Flask) -> None:
    make_staff(services, "admin@gestoria.mx", "admin")
    admin = app.test_client()
    login(admin, "admin@gestoria.mx")
    assert post_form(staff_client, "/inbox/canned", title="x", body="y").status_code == 302  # agents manage them too
    post_form(admin, "/inbox/canned", title="Saludo", body="Hola {nombre}, tu folio es {folio}.")
    enrolled_applicant(phone)
    cid = conversation_id(services)
    page = staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "Hola {nombre}, tu folio es {folio}." in page
    post_form(staff_client, f"/inbox/c/{cid}/reply", text="Hola {nombre}, tu folio es {folio}.")
    deliver(services)
    text = phone.client.get("/webchat/api/messages?after=0").get_json()["messages"][-1]["text"]
    assert text == f"Hola Eduardo, tu folio es {folio(services)}."


def test_admin_pages_are_for_admins(staff_client: FlaskClient, services: Services, app: Flask) -> None:
    assert staff_client.get("/inbox/staff").status_code == 403
    assert staff_client.get("/inbox/audit").status_code == 403
    make_staff(services, "admin@gestoria.mx", "admin")
    admin = app.test_client()
    login(admin, "admin@gestoria.mx")
    assert post_form(admin, "/inbox/staff", email="nuevo@gestoria.mx", password="una clave larga", role="agent"
                     ).status_code == 302
    assert "nuevo@gestoria.mx" in admin.get("/inbox/staff").get_data(as_text=True)
    post_form(admin, "/inbox/staff/nuevo@gestoria.mx/disable")
    assert login(app.test_client(), "nuevo@gestoria.mx", "una clave larga").status_code == 401
    assert es("disabled staff") in admin.get("/inbox/audit").get_data(as_text=True)


def test_cli_staff_commands_and_first_admin(database_url: str, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "PTIBOT_DATA_DIR": str(tmp_path),
           "SECRET_KEY": "x" * 32, "DATA_ENCRYPTION_KEYS": TEST_KEY}

    def ptibot(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=ROOT, input=stdin,
                              capture_output=True, text=True, timeout=60)

    assert ptibot("staff", "add", "luis@gestoria.mx", "--role", "admin", "--password-stdin",
                  stdin="una clave muy larga\n").returncode == 0
    assert ptibot("staff", "add", "corta@gestoria.mx", "--password-stdin", stdin="corta\n").returncode == 2
    assert ptibot("staff", "add", "luis@gestoria.mx", "--password-stdin", stdin="otra clave larga\n").returncode == 1
    listed = ptibot("staff", "list").stdout
    assert "luis@gestoria.mx\tadmin\tactive" in listed
    assert ptibot("staff", "disable", "luis@gestoria.mx").returncode == 0
    assert "disabled" in ptibot("staff", "list").stdout


def test_serve_creates_the_first_admin_once(database_url: str, tmp_path: Path) -> None:
    from tests.helpers import environment, serving

    env = environment(database_url, tmp_path)
    for _ in range(2):  # a restart must not create a second admin
        with serving(env):
            pass
    from storage.db import Database

    database = Database(database_url)
    with database.session_scope() as session:
        people = StaffRepository(session).all()
    database.dispose()
    assert [p.email for p in people] == ["admin@localhost"] and people[0].must_change_password


def test_search_by_curp_phone_name_and_folio(staff_client: FlaskClient, services: Services, phone: Phone,
                                             app: Flask) -> None:
    enrolled_applicant(phone)
    other = Phone(app.test_client())
    other.send("hola")
    other.send("asesor")
    with services.database.session_scope() as session:
        stored = session.execute(select(Conversation.curp_hash).where(Conversation.curp_hash.is_not(None))
                                 ).scalar_one()
    assert stored and "GODE" not in stored  # a keyed hash, not the CURP
    for query in ("gode561231hdfnzd03", "55 1234 5678", "eduardo gonzalez", folio(services)):
        page = staff_client.get("/inbox/", query_string={"q": query}).get_data(as_text=True)
        assert page.count('data-id="') == 1 and "Eduardo González Díaz" in page, query
    assert staff_client.get("/inbox/", query_string={"q": "XAXX010101HDFRRN09"}).get_data(
        as_text=True).count('data-id="') == 0
