"""The inbox as a workbench (issue 18), over HTTP: queues with counts, readable records with no internal value
on any page, ids cross-checked, take-over warnings, assignment, labels, data corrections, the document viewer,
named downloads, server-sent events and unread markers."""

from __future__ import annotations

import io
import re
import threading
import time
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.core.clock import utcnow
from bot.wiring import Services
from bot.worker.outbox import Dispatcher
from flows.registry import FLOWS
from locales import translate
from storage.models import AuditEntry, Case, Conversation, DataCorrection, Document
from storage.staff import StaffRepository
from tests.helpers import (
    PASSWORD,
    Phone,
    conversation_id_of,
    enrolled_applicant,
    file_with_imss,
    folio,
    login,
    make_staff,
    post_form,
)
from tests.samples import pdf_document


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def deliver(services: Services) -> None:
    Dispatcher(services.database, services.cipher, services.senders).run_once()


def texts(phone: Phone) -> list[str]:
    return [m["text"] for m in phone.client.get("/webchat/api/messages?after=0").get_json()["messages"]]


class Visible(HTMLParser):
    """The text a person sees on a page: no scripts, styles, attributes or hidden elements."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title"):
            self.skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title") and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = Visible()
    parser.feed(html)
    return " ".join(parser.parts)


STEP_NAMES = {step.name for flow in FLOWS for step in flow.steps}
PAYLOAD_CODES = {choice.key for flow in FLOWS for step in flow.steps for choice in step.choices if "_" in choice.key}
ENUM_WORDS = {"contact", "sent", "queued", "applicant", "likely", "not_for_you", "pending", "approved",
              "rejected", "received", "failed", "internal", "webchat", "whatsapp", "telegram", "agent", "admin",
              "terms", "privacy", "financial", "health", "reminders", "unassigned", "human", "in_review",
              "filed_with_imss", "documents_observed", "id_front", "id_back", "proof_of_address",
              "tax_certificate", "curp_document", "view_personal_data", "view_document", "case_status", "take",
              "reply", "note", "UTC", "None", "null", "spei"}
# "[confirm]", "[document received]", unrendered *bold*, the author "bot" (Spanish says "el bot" for the bot)
RAW = re.compile(r"\[[a-z_ ]+\]|\*[^*\s][^*\n]*\*|(?<![\w ])bot ·")


def raw_values(text: str, english: bool = False) -> list[str]:
    """Internal values found in a page's visible text (whole words, case-sensitive). In English pages the enum
    words are ordinary words, so only step names, payload codes and raw markers count."""
    found = [match.group(0) for match in RAW.finditer(text)]
    words = {name for name in STEP_NAMES if "_" in name} | PAYLOAD_CODES if english else \
        STEP_NAMES | PAYLOAD_CODES | ENUM_WORDS  # "requirements" is a step and, in English, a word
    for word in words:
        if match := re.search(rf"(?<![\w@.\-/]){re.escape(word)}(?![\w@.\-/])", text):
            found.append(f"{word}: …{text[max(0, match.start() - 40):match.end() + 20]}…")
    return found


def filed_case(staff_client: FlaskClient, services: Services, phone: Phone) -> tuple[int, int]:
    enrolled_applicant(phone)
    cid = conversation_id_of(services, phone)
    with services.database.session_scope() as session:
        case_id = session.execute(select(Case.id)).scalar_one()
    return cid, case_id


def admin_client(app: Flask, services: Services) -> FlaskClient:
    make_staff(services, "admin@gestoria.mx", "admin")
    admin = app.test_client()
    login(admin, "admin@gestoria.mx")
    return admin


def colleague(services: Services, email: str = "luis@gestoria.mx", name: str = "Luis Pérez") -> int:
    with services.database.session_scope() as session:
        StaffRepository(session).create(email, PASSWORD, "agent", utcnow(), name=name)
        record = next(person for person in StaffRepository(session).all() if person.email == email)
        return record.id


# -- 1. queues --------------------------------------------------------------------------------------------------
def test_a_filed_case_is_in_to_review_with_counts_in_the_nav_and_the_title(staff_client: FlaskClient,
                                                                          services: Services, app: Flask) -> None:
    calm, waiting = Phone(app.test_client()), Phone(app.test_client())
    calm.send("hola")
    empty = staff_client.get("/inbox/?view=review").get_data(as_text=True)
    assert es("Nothing here right now.") in empty and 'id="count-review">0<' in empty
    filer = Phone(app.test_client())
    cid, _case = filed_case(staff_client, services, filer)
    waiting.send("hola")
    waiting.send("asesor")
    page = staff_client.get("/inbox/?view=review").get_data(as_text=True)
    assert f'data-id="{cid}"' in page and page.count('data-id="') == 1
    assert 'id="count-review">1<' in page and 'id="count-waiting">1<' in page
    assert re.search(r"<title>\(2\) " + re.escape(es("To review")), page)
    assert es("Waiting since") in page
    waiting_page = staff_client.get("/inbox/?view=waiting").get_data(as_text=True)
    assert f'data-id="{conversation_id_of(services, waiting)}"' in waiting_page
    assert waiting_page.count('data-id="') == 1
    # the case stays in the queue while documents wait, and leaves it once everything is reviewed
    with services.database.session_scope() as session:
        documents = [d.id for d in session.execute(select(Document).where(
            Document.conversation_id == cid, Document.review_status == "pending")).scalars()]
    for document_id in documents:
        post_form(staff_client, f"/inbox/c/{cid}/documents/{document_id}/review", decision="approve")
    assert f'data-id="{cid}"' in staff_client.get("/inbox/?view=review").get_data(as_text=True)  # case received
    with services.database.session_scope() as session:
        case_id = session.execute(select(Case.id)).scalar_one()
    file_with_imss(staff_client, cid, case_id)
    after = staff_client.get("/inbox/?view=review").get_data(as_text=True)
    assert f'data-id="{cid}"' not in after and 'id="count-review">0<' in after
    post_form(staff_client, f"/inbox/c/{cid}/take")
    mine = staff_client.get("/inbox/?view=mine").get_data(as_text=True)
    assert f'data-id="{cid}"' in mine and 'id="count-mine">1<' in mine


def test_payments_to_confirm_appear_only_once_payments_exist(staff_client: FlaskClient, services: Services,
                                                            app: Flask) -> None:
    Phone(app.test_client()).send("hola")
    assert "count-payments" not in staff_client.get("/inbox/").get_data(as_text=True)
    phone = Phone(app.test_client())
    enrolled_applicant(phone)  # paid by a transfer staff confirmed
    page = staff_client.get("/inbox/?view=payments").get_data(as_text=True)
    assert 'id="count-payments">0<' in page and es("Payments to confirm") in page


# -- 2. readable records ----------------------------------------------------------------------------------------
def test_no_internal_value_on_any_inbox_page(staff_client: FlaskClient, services: Services, app: Flask) -> None:
    phone = Phone(app.test_client())
    cid, case_id = filed_case(staff_client, services, phone)
    other = Phone(app.test_client())
    other.send("hola")
    other.press("Requisitos")  # a button press: shown by its title
    other.send("asesor")
    with services.database.session_scope() as session:
        proof = session.execute(select(Document.id).where(Document.slot == "proof_of_address")).scalar_one()
        documents = [d.id for d in session.execute(select(Document).where(Document.conversation_id == cid)).scalars()]
    post_form(staff_client, f"/inbox/c/{cid}/documents/{proof}/review", decision="reject", reason="Es viejo")
    post_form(staff_client, f"/inbox/c/{cid}/note", text="Revisar mañana")
    post_form(staff_client, f"/inbox/c/{cid}/labels", add="urgente")
    file_with_imss(staff_client, cid, case_id)
    with staff_client.session_transaction() as session:
        token = session["csrf"]
    staff_client.post(f"/inbox/c/{cid}/case/{case_id}/results", content_type="multipart/form-data",
                      data={"csrf_token": token, "receipt": (io.BytesIO(pdf_document()), "r.pdf"),
                            "payment_slip": (io.BytesIO(pdf_document(seed=2)), "l.pdf")})
    deliver(services)
    admin = admin_client(app, services)
    pages = {url: staff_client for url in (
        "/inbox/", "/inbox/?view=review", "/inbox/?view=waiting", "/inbox/?view=mine", "/inbox/?view=payments",
        f"/inbox/c/{cid}", f"/inbox/c/{conversation_id_of(services, other)}", "/inbox/cases", "/inbox/rights",
        *(f"/inbox/c/{cid}/documents/{d}" for d in documents))}
    pages.update({"/inbox/staff": admin, "/inbox/audit": admin})
    for english in (False, True):
        for client in (staff_client, admin):
            client.get("/inbox/", query_string={"lang": "en" if english else "es"})
        for url, client in pages.items():
            response = client.get(url)
            assert response.status_code == 200, url
            text = visible(response.get_data(as_text=True))
            assert raw_values(text, english) == [], (url, english, raw_values(text, english))
    for client in (staff_client, admin):
        client.get("/inbox/", query_string={"lang": "es"})
    page = staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "<strong>" in page  # the bot's *bold* rendered
    assert es("Proof of address") in visible(page) or es("proof of address") in visible(page)
    assert es("rejected") in visible(page)
    assert es("%(count)s pages", count=1) in visible(page) or es("1 page") in visible(page)
    other_page = visible(staff_client.get(f"/inbox/c/{conversation_id_of(services, other)}").get_data(as_text=True))
    assert "Requisitos" in other_page
    assert "hace" in visible(staff_client.get("/inbox/").get_data(as_text=True))


def test_bold_is_rendered_after_escaping(staff_client: FlaskClient, services: Services, phone: Phone) -> None:
    phone.send("hola *<b>x</b>* y *bien*")
    cid = conversation_id_of(services, phone)
    page = staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "<strong>&lt;b&gt;x&lt;/b&gt;</strong>" in page and "<strong>bien</strong>" in page
    assert "<b>x</b>" not in page


def test_times_are_in_the_business_timezone_in_one_format(staff_client: FlaskClient, services: Services,
                                                         phone: Phone) -> None:
    phone.send("hola")
    cid = conversation_id_of(services, phone)
    page = visible(staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True))
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime

    local = format_datetime(utcnow(), "d MMM yyyy", tzinfo=ZoneInfo(services.settings.business_timezone),
                            locale="es_MX")
    assert local in page and "UTC" not in page
    assert not re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}|\d{2}/\d{2}/\d{4}", page)


# -- 3. team work -----------------------------------------------------------------------------------------------
def test_ids_in_urls_are_cross_checked(staff_client: FlaskClient, services: Services, app: Flask) -> None:
    phone = Phone(app.test_client())
    cid, case_id = filed_case(staff_client, services, phone)
    other = Phone(app.test_client())
    other.send("hola")
    other_id = conversation_id_of(services, other)
    with services.database.session_scope() as session:
        document_id = session.execute(select(Document.id).where(Document.slot == "id_front")).scalar_one()
    assert post_form(staff_client, f"/inbox/c/{other_id}/documents/{document_id}/review",
                     decision="approve").status_code == 404
    assert post_form(staff_client, f"/inbox/c/{other_id}/case/{case_id}/status", status="in_review"
                     ).status_code == 404
    assert staff_client.get(f"/inbox/c/{other_id}/documents/{document_id}").status_code == 404
    with services.database.session_scope() as session:
        assert session.execute(select(Document.review_status).where(Document.id == document_id)
                               ).scalar_one() == "pending"
        assert session.execute(select(Case.status).where(Case.id == case_id)).scalar_one() == "received"
    assert post_form(staff_client, f"/inbox/c/{cid}/documents/{document_id}/review",
                     decision="approve").status_code == 302


def test_acting_on_a_colleagues_conversation_needs_take_over(staff_client: FlaskClient, services: Services,
                                                            app: Flask, phone: Phone) -> None:
    phone.send("hola")
    cid = conversation_id_of(services, phone)
    colleague(services)
    luis = app.test_client()
    login(luis, "luis@gestoria.mx")
    post_form(luis, f"/inbox/c/{cid}/take")
    page = staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert es("%(name)s has this conversation. To reply or hand it back, take it over first.",
              name="Luis Pérez") in page
    assert post_form(staff_client, f"/inbox/c/{cid}/reply", text="Hola").status_code == 303
    assert post_form(staff_client, f"/inbox/c/{cid}/hand-back").status_code == 303
    deliver(services)
    assert "Hola" not in texts(phone)
    with services.database.session_scope() as session:
        assert session.execute(select(Conversation.owner).where(Conversation.id == cid)).scalar_one() == "human"
    assert post_form(staff_client, f"/inbox/c/{cid}/reply", text="Hola", take_over="1").status_code == 302
    deliver(services)
    assert texts(phone)[-1] == "Hola"
    with services.database.session_scope() as session:
        ana = next(p for p in StaffRepository(session).all() if p.email == "ana@gestoria.mx")
        assert session.execute(select(Conversation.assigned_to).where(Conversation.id == cid)
                               ).scalar_one() == ana.id


def test_assign_to_a_colleague(staff_client: FlaskClient, services: Services, phone: Phone) -> None:
    phone.send("hola")
    cid = conversation_id_of(services, phone)
    luis = colleague(services)
    assert post_form(staff_client, f"/inbox/c/{cid}/assign", staff_id=str(luis)).status_code == 302
    deliver(services)
    assert texts(phone)[-1] == es("%(name)s from our team is now with you and will reply here.", name="Luis")
    with services.database.session_scope() as session:
        row = session.execute(select(Conversation.assigned_to, Conversation.owner)
                              .where(Conversation.id == cid)).one()
        assert tuple(row) == (luis, "human")
        assert session.execute(select(AuditEntry.detail).where(AuditEntry.action == "assign")).scalar_one() \
            == "luis@gestoria.mx"


def test_a_live_refresh_leaves_the_flash_to_the_page_the_action_loads(staff_client: FlaskClient,
                                                                      services: Services, phone: Phone) -> None:
    """The page refreshes itself in the background (X-Live); that request must not take the message meant for
    the page the staff member's own action loads, or the refusal is never seen."""
    phone.send("hola")
    cid = conversation_id_of(services, phone)
    assert post_form(staff_client, f"/inbox/c/{cid}/assign", staff_id="nobody").status_code == 303
    refusal = es("Choose an active colleague.")
    assert refusal not in staff_client.get(f"/inbox/c/{cid}", headers={"X-Live": "1"}).get_data(as_text=True)
    assert refusal not in staff_client.get("/inbox/", headers={"X-Live": "1"}).get_data(as_text=True)
    assert refusal in staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)


def test_labels_on_a_conversation_filter_the_list(staff_client: FlaskClient, services: Services, app: Flask) -> None:
    first, second = Phone(app.test_client()), Phone(app.test_client())
    first.send("hola")
    second.send("hola")
    cid = conversation_id_of(services, first)
    post_form(staff_client, f"/inbox/c/{cid}/labels", add="  Llamar   mañana ")
    assert "llamar mañana" in staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    listed = staff_client.get("/inbox/", query_string={"label": "llamar mañana"}).get_data(as_text=True)
    assert listed.count('data-id="') == 1 and f'data-id="{cid}"' in listed
    post_form(staff_client, f"/inbox/c/{cid}/labels", remove="llamar mañana")
    assert staff_client.get("/inbox/", query_string={"label": "llamar mañana"}).get_data(
        as_text=True).count('data-id="') == 0


def test_staff_correct_data_with_history_and_the_applicant_is_told(staff_client: FlaskClient, services: Services,
                                                                 app: Flask) -> None:
    phone = Phone(app.test_client())
    cid, case_id = filed_case(staff_client, services, phone)
    bad = post_form(staff_client, f"/inbox/c/{cid}/correct", field="curp", value="XXXX", reason="typo")
    assert bad.status_code == 303
    assert post_form(staff_client, f"/inbox/c/{cid}/correct", field="full_name", value="eduardo gonzález díaz",
                     reason="").status_code == 303  # a reason is needed
    response = post_form(staff_client, f"/inbox/c/{cid}/correct", field="full_name", value="eduardo gonzalez diaz",
                         reason="Sin acentos como en su INE")
    assert response.status_code == 302
    deliver(services)
    assert texts(phone)[-1] == es("We corrected your %(field)s: it now reads *%(value)s*. Reason: %(reason)s",
                                  field=es("Name").lower(), value="Eduardo Gonzalez Diaz",
                                  reason="Sin acentos como en su INE")
    page = staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "Eduardo Gonzalez Diaz" in page and "Sin acentos como en su INE" in page
    with services.database.session_scope() as session:
        correction = session.execute(select(DataCorrection)).scalar_one()
        assert (correction.field, correction.actor, correction.case_id) == ("full_name", "ana@gestoria.mx", case_id)
        assert b"Gonzalez" not in correction.change  # encrypted
        data = session.execute(select(Case.data).where(Case.id == case_id)).scalar_one()
        assert services.cipher.decrypt_json(data)["full_name"] == "Eduardo Gonzalez Diaz"
    assert staff_client.get("/inbox/", query_string={"q": "gonzalez diaz"}).get_data(as_text=True).count(
        'data-id="') == 1


# -- 4. viewer and downloads ------------------------------------------------------------------------------------
def test_viewer_next_previous_and_review_in_place(staff_client: FlaskClient, services: Services, app: Flask) -> None:
    phone = Phone(app.test_client())
    cid, _case = filed_case(staff_client, services, phone)
    with services.database.session_scope() as session:
        ids = [d.id for d in session.execute(select(Document).where(Document.conversation_id == cid)
                                              .order_by(Document.id)).scalars()]
    page = staff_client.get(f"/inbox/c/{cid}/documents/{ids[1]}").get_data(as_text=True)
    assert f"/inbox/c/{cid}/documents/{ids[0]}" in page and f"/inbox/c/{cid}/documents/{ids[2]}" in page
    assert 'id="zoom-in"' in page and 'id="rotate"' in page
    back = f"/inbox/c/{cid}/documents/{ids[1]}"
    response = post_form(staff_client, f"/inbox/c/{cid}/documents/{ids[1]}/review", decision="approve", back=back)
    assert response.status_code == 302 and response.headers["Location"].endswith(back)
    evil = post_form(staff_client, f"/inbox/c/{cid}/documents/{ids[2]}/review", decision="approve",
                     back="https://evil.example/")
    assert evil.headers["Location"].endswith(f"/inbox/c/{cid}")


def test_downloads_are_named_after_the_document_and_the_folio(staff_client: FlaskClient, services: Services,
                                                             app: Flask) -> None:
    phone = Phone(app.test_client())
    filed_case(staff_client, services, phone)
    with services.database.session_scope() as session:
        token = session.execute(select(Document.access_token).where(Document.slot == "tax_certificate")
                                ).scalar_one()
    disposition = staff_client.get(f"/inbox/documents/{token}?download=1").headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"")
    assert folio(services) in disposition and ".pdf" in disposition
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9-]+\.pdf"', disposition)


# -- 5. live and unread -----------------------------------------------------------------------------------------
def test_events_stream_a_change(staff_client: FlaskClient, services: Services, app: Flask, phone: Phone) -> None:
    phone.send("hola")
    cid = conversation_id_of(services, phone)
    app.config["PTIBOT_EVENT_SECONDS"] = 4
    later = threading.Timer(1.0, lambda: phone.send("una pregunta"))
    later.start()
    started = time.monotonic()
    response = staff_client.get(f"/inbox/events?c={cid}")
    assert response.mimetype == "text/event-stream"
    body = response.get_data(as_text=True)
    later.join()
    assert "event: change" in body and time.monotonic() - started < 10


def test_unread_markers(staff_client: FlaskClient, services: Services, phone: Phone) -> None:
    phone.send("hola")
    cid = conversation_id_of(services, phone)
    assert 'class="is-unread"' in staff_client.get("/inbox/").get_data(as_text=True)
    staff_client.get(f"/inbox/c/{cid}")
    assert 'class="is-unread"' not in staff_client.get("/inbox/").get_data(as_text=True)
    phone.send("otra cosa")
    assert 'class="is-unread"' in staff_client.get("/inbox/").get_data(as_text=True)


def test_the_inbox_watcher_stops_with_its_services(staff_client: FlaskClient, app: Flask,
                                                   services: Services) -> None:
    """The live inbox watches the database from a thread; it must end with the app's services, or it outlives
    its database and keeps reconnecting to it (as it did in the suite, writing warnings into other tests)."""
    staff_client.get("/inbox/events", buffered=False).close()
    watcher = app.extensions["ptibot_changes"].watcher
    assert watcher is not None and watcher._thread is not None and watcher._thread.is_alive()
    services.close()
    watcher._thread.join(timeout=5)
    assert not watcher._thread.is_alive()


def test_event_streams_are_capped_and_released(staff_client: FlaskClient, app: Flask) -> None:
    from bot.web.inbox.views import MAX_STREAMS

    app.config["PTIBOT_EVENT_SECONDS"] = 0.2
    for _ in range(MAX_STREAMS + 2):  # each stream ends and gives its place back
        response = staff_client.get("/inbox/events")
        assert response.status_code == 200 and ": connected" in response.get_data(as_text=True)
        response.close()
    held = [staff_client.get("/inbox/events", buffered=False) for _ in range(MAX_STREAMS)]
    for response in held:
        next(iter(response.response))  # started and holding a place
    assert staff_client.get("/inbox/events").status_code == 204  # the page polls instead
    for response in reversed(held):  # (one thread here: the streams' request contexts close in stack order)
        response.close()
    assert staff_client.get("/inbox/events").status_code == 200
