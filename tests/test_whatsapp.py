"""WhatsApp end to end: signed Twilio webhooks in, the real twilio client out to the loopback fake."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from bot.service.notices import queue_notice
from bot.wiring import Services
from bot.worker.outbox import Dispatcher
from flows.rules.case_status import STATUSES
from locales import translate
from storage.models import Case, Consent, Contact, Conversation, Document, Message
from tests.helpers import PUBLIC_URL, STATUS_TEMPLATE, WhatsAppUser, confirm_pending_payment, drain_outbox, post_signed
from tests.samples import document_photo, id_card_photo, pdf_document, png_photo


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def test_bad_or_missing_signature_is_403_and_stores_nothing(whatsapp_client: FlaskClient, twilio_api: Any,
                                                            whatsapp_services: Services) -> None:
    params = twilio_api.inbound_payload("whatsapp:+5215512345678", "hola")
    assert whatsapp_client.post("/webhooks/whatsapp", data=params).status_code == 403
    bad = dict(params, Body="hola!")
    signature = RequestValidator(twilio_api.auth_token).compute_signature(PUBLIC_URL + "/webhooks/whatsapp", params)
    assert whatsapp_client.post("/webhooks/whatsapp", data=bad,
                                headers={"X-Twilio-Signature": signature}).status_code == 403
    with whatsapp_services.database.session_scope() as session:
        assert session.execute(select(Message)).first() is None


def test_https_public_url_behind_a_plain_http_proxy(whatsapp_client: FlaskClient, twilio_api: Any) -> None:
    """Twilio signs the https URL it called; the app sees http://localhost behind the proxy."""
    params = twilio_api.inbound_payload("whatsapp:+5215512345678", "hola")
    path = "/webhooks/whatsapp?source=proxy"
    response = post_signed(whatsapp_client, twilio_api, path, params)
    assert response.status_code == 200


def test_same_message_sid_three_times_is_one_turn(whatsapp_client: FlaskClient, whatsapp_services: Services,
                                                  twilio_api: Any) -> None:
    params = twilio_api.inbound_payload("whatsapp:+5215512345678", "hola")
    for _ in range(3):
        assert post_signed(whatsapp_client, twilio_api, "/webhooks/whatsapp", params).status_code == 200
    drain_outbox(whatsapp_services)
    assert len(twilio_api.messages()) == 2


def test_options_are_numbered_and_numbers_titles_and_synonyms_work(whatsapp_client: FlaskClient,
                                                                   whatsapp_services: Services,
                                                                   twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    menu = ana.say("hola")[-1]
    assert f"1. {es('Start my enrollment')}" in menu and "8. " in menu
    assert es("Reply with the number of your option.") in menu and "7 o 8" not in menu  # a long list
    assert es("Reply %(numbers)s", numbers="1 o 2") in ana.say("1")[-1]  # a short one names its numbers
    ana.say("menu")
    # WhatsApp numbers its options, so a miss may say "responde con su número" here (not on the web chat).
    assert ana.say("blablabla")[0] == es("Sorry, I did not get that. Please tap a button or reply with its number.")
    assert "CURP" in ana.say("4")[0]
    ana.say("menu")
    assert "CURP" in ana.say("Requisitos")[0]
    ana.say("menu")
    assert "CURP" in ana.say("que necesito")[0]


def test_full_journey_with_numbers_words_and_two_photos_in_one_message(
        whatsapp_client: FlaskClient, whatsapp_services: Services, twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    ana.say("hola")
    ana.say("1")
    ana.say("acepto")
    ana.say("1")
    for answer in ["si", "no", "no", "1", "1", "2", "2", "no", "1", "no", "1", "continuar"]:
        ana.say(answer)
    for answer in ("Eduardo González Díaz", "GODE561231HDFNZD03", "GODE561231GR8", "12345612340",
                   "ana@example.mx", "si"):
        ana.say(answer)
    assert "+52 55 1234 5678" in ana.received()[-1]["Body"] or "+525512345678" in ana.received()[-1]["Body"]
    for answer in ("si", "06600", "Av. Juárez 123, Centro, CDMX", "costurera", "1", "$15,000", "1",
                   "1", "2"):
        ana.say(answer)
    replies = ana.send_media((id_card_photo(), "image/jpeg"), (png_photo(seed=4), "image/png"))
    assert replies.count(es("Received, thank you! ✅")) == 2
    ana.send_media((pdf_document(), "application/pdf"))
    ana.send_media((id_card_photo(seed=9), "image/jpeg"))
    ana.say("omitir")
    offer = ana.say("1")
    assert "Total $1,499.00 MXN (IVA incluido)" in "\n".join(offer) and not re.search(r"PTI-2026", "\n".join(offer))
    assert "CLABE" in "\n".join(ana.say("acepto"))
    receipt = ana.send_media((document_photo(seed=23), "image/jpeg"))
    assert receipt[0] == es("Received, thank you! ✅"), receipt
    before = len(ana.received())
    confirm_pending_payment(whatsapp_services)  # staff matched the transfer: only now is the case filed
    drain_outbox(whatsapp_services)
    final = [m.get("Body", "") for m in ana.received()[before:]]
    assert re.search(r"PTI-2026-\d{6}", "\n".join(final)), final
    with whatsapp_services.database.session_scope() as session:
        case = session.execute(select(Case)).scalar_one()
        data = whatsapp_services.cipher.decrypt_json(case.data)
        assert data["phone"] == "+525512345678" and data["curp"] == "GODE561231HDFNZD03"
        assert len(session.execute(select(Document)).all()) == 6  # with the transfer receipt and our receipt


def test_location_and_media_without_auth_get_friendly_lines(whatsapp_client: FlaskClient,
                                                            whatsapp_services: Services, twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215500000001")
    ana.say("hola")
    replies = ana.say("", latitude="19.43", longitude="-99.13")
    assert replies[0] == es("Thanks for your location 📍. Right now I need this:")  # issue 22: not "only text"
    replies = ana.say("", media=[(twilio_api.url + "/2010-04-01/Accounts/x/Messages/MM1/Media/ME404", "image/jpeg")])
    assert replies and "IMSS" not in replies[0]


def test_status_callbacks_record_delivery_and_error_codes(whatsapp_client: FlaskClient,
                                                          whatsapp_services: Services, twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    ana.say("hola")
    sid = twilio_api.messages()[-1]["sid"]
    assert twilio_api.messages()[-1]["StatusCallback"] == PUBLIC_URL + "/webhooks/whatsapp/status"
    for status in ("sent", "read", "delivered"):
        payload = twilio_api.status_callback_payload(sid, status)
        assert post_signed(whatsapp_client, twilio_api, "/webhooks/whatsapp/status", payload).status_code == 200
    assert whatsapp_client.post("/webhooks/whatsapp/status", data=payload).status_code == 403

    def row() -> Message:
        with whatsapp_services.database.session_scope() as session:
            return session.execute(select(Message).where(Message.provider_id == sid)).scalar_one()

    assert row().status == "read"  # a late "delivered" does not move it back
    payload = twilio_api.status_callback_payload(sid, "failed", 63016)
    post_signed(whatsapp_client, twilio_api, "/webhooks/whatsapp/status", payload)
    assert row().status == "failed" and "63016" in (row().last_error or "")


def ana_silent_for(client: FlaskClient, services: Services, api: Any,
                   silence: timedelta) -> tuple[WhatsAppUser, int]:
    """Ana says hola, then (as if) nothing for `silence`; the fake Twilio forgets the replies so far.

    Returns Ana and the id of her conversation."""
    ana = WhatsAppUser(client, services, api, "+5215512345678")
    ana.say("hola")
    api.clear()
    with services.database.session_scope() as session:
        session.execute(update(Contact).values(last_inbound_at=datetime.now(UTC) - silence))
        conversation_id = session.execute(select(Conversation.id)).scalar_one()
    return ana, conversation_id


def test_status_update_after_25_hours_goes_as_the_template(whatsapp_client: FlaskClient,
                                                           whatsapp_services: Services, twilio_api: Any) -> None:
    ana, conversation_id = ana_silent_for(whatsapp_client, whatsapp_services, twilio_api, timedelta(hours=25))
    now = datetime.now(UTC)
    with whatsapp_services.database.session_scope() as session:
        queue_notice(session, whatsapp_services.cipher, conversation_id, "status_update",
                     "Your case *%(folio)s* is: %(status)s.\n%(pending)s", now, folio="PTI-2026-000001",
                     status=es(STATUSES["in_review"]), pending="")
        queue_notice(session, whatsapp_services.cipher, conversation_id, "staff_reply",
                     "Your case *%(folio)s* is: %(status)s.\n%(pending)s", now, folio="x", status="y", pending="")
    drain_outbox(whatsapp_services)
    sent = twilio_api.messages()
    assert len(sent) == 1 and sent[0]["ContentSid"] == STATUS_TEMPLATE and "Body" not in sent[0]
    assert "PTI-2026-000001" in sent[0]["ContentVariables"] and sent[0]["ContentVariables"].startswith("{")
    with whatsapp_services.database.session_scope() as session:
        held = session.execute(select(Message).where(Message.status == "held")).scalar_one()
        assert "template" in (held.last_error or "")  # the inbox can show why it waits
    ana.say("hola de nuevo")  # the window opens again: the held staff reply goes out as free text
    assert any("Body" in m and m["Body"].startswith(es("Your case *%(folio)s* is: %(status)s.\n%(pending)s",
                                                      folio="x", status="y", pending="")[:10])
               for m in twilio_api.messages())


def test_opt_out_stops_business_messages_and_alta_resumes(whatsapp_client: FlaskClient,
                                                          whatsapp_services: Services, twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    ana.say("hola")
    assert ana.say("BAJA")[0].startswith(es(
        "Done: we will not send you notices or reminders here anymore. You can still write to us whenever "
        "you want; reply *ALTA* to receive them again.")[:20])
    assert "CURP" in ana.say("4")[0]  # answers to the applicant's own messages still work
    twilio_api.clear()
    with whatsapp_services.database.session_scope() as session:
        conversation_id = session.execute(select(Conversation.id)).scalar_one()
        queue_notice(session, whatsapp_services.cipher, conversation_id, "payment_reminder",
                     "Main menu", datetime.now(UTC))
    drain_outbox(whatsapp_services)
    assert twilio_api.messages() == []
    assert es("Done: you will receive our notices and reminders here again.") in ana.say("ALTA")[0]
    with whatsapp_services.database.session_scope() as session:
        changes = [(c.kind, c.accepted) for c in session.execute(select(Consent)).scalars()]
        assert changes == [("business_messages", False), ("business_messages", True)]
        assert session.execute(select(Message.status).where(Message.status == "suppressed")).scalar_one()


def test_500s_and_429s_deliver_every_reply_once_in_order(whatsapp_client: FlaskClient,
                                                         whatsapp_services: Services, twilio_api: Any) -> None:
    twilio_api.fail_next(status=500, times=2)
    twilio_api.fail_next(status=429)
    params = twilio_api.inbound_payload("whatsapp:+5215512345678", "hola")
    post_signed(whatsapp_client, twilio_api, "/webhooks/whatsapp", params)
    params = twilio_api.inbound_payload("whatsapp:+5215512345678", "4")
    post_signed(whatsapp_client, twilio_api, "/webhooks/whatsapp", params)
    clock = [datetime.now(UTC)]
    dispatcher = Dispatcher(whatsapp_services.database, whatsapp_services.cipher, whatsapp_services.senders,
                            clock=lambda: clock[0])
    for _ in range(30):
        dispatcher.run_once()
        clock[0] += timedelta(minutes=1)
    bodies = [m["Body"] for m in twilio_api.messages()]
    assert len(bodies) == 3 and "IMSS" in bodies[0] and "CURP" in bodies[2]


def test_long_texts_split_and_documents_go_through_signed_expiring_links(
        whatsapp_client: FlaskClient, whatsapp_services: Services, twilio_api: Any) -> None:
    from bot.core.messages import Attachment, Outbound, Recipient

    name = whatsapp_services.documents.save(pdf_document())
    sender = whatsapp_services.senders["whatsapp"]
    sender.send(Recipient("+525512345678", last_inbound_at=datetime.now(UTC)), Outbound(
        ("palabra " * 500).strip(), attachments=(Attachment("document", name, "application/pdf", "recibo.pdf"),)))
    sent = twilio_api.messages()
    assert [len(m.get("Body", "")) <= 1600 for m in sent] == [True] * len(sent) and len(sent) == 4
    link = sent[0]["media_urls"][0]
    assert link.startswith(PUBLIC_URL + "/media/")
    response = whatsapp_client.get(link.removeprefix(PUBLIC_URL))
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert whatsapp_client.get(link.removeprefix(PUBLIC_URL) + "x").status_code == 404


def test_a_nudge_outside_the_window_without_template_is_skipped(whatsapp_client: FlaskClient,
                                                               whatsapp_services: Services, twilio_api: Any) -> None:
    ana, conversation_id = ana_silent_for(whatsapp_client, whatsapp_services, twilio_api, timedelta(hours=30))
    now = datetime.now(UTC)
    with whatsapp_services.database.session_scope() as session:
        queue_notice(session, whatsapp_services.cipher, conversation_id, "nudge", "Main menu", now)
    drain_outbox(whatsapp_services)
    ana.say("hola")
    assert not any(m.get("Body", "").startswith(es("Main menu")) for m in twilio_api.messages())


# -- media only from Twilio, never more than we accept; texts of a sane length ---------------------------------
def test_media_from_another_host_is_never_requested_and_never_gets_our_credentials(
        whatsapp_client: FlaskClient, whatsapp_services: Services, twilio_api: Any) -> None:
    from tests.fakes.twilio_api import FakeTwilioAPI

    with FakeTwilioAPI() as elsewhere:  # a second loopback server: any request it receives is recorded
        ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
        ana.say("hola")
        foreign = [
            elsewhere.url + "/evil.jpg",  # another host altogether
            elsewhere.url + f"/2010-04-01/Accounts/{twilio_api.account_sid}/Messages/MM1/Media/ME1",  # same path
            twilio_api.add_media(id_card_photo(), "image/jpeg", redirect_to=elsewhere.url + "/evil.jpg"),
            twilio_api.url + "/2010-04-01/Accounts/AC" + "9" * 32 + "/Messages/MM1/Media/ME1",  # not our account
            twilio_api.url.replace("127.0.0.1", "evil@127.0.0.1") + "/2010-04-01/Accounts/x",
        ]
        for number, url in enumerate(foreign):
            replies = ana.say("", media=[(url, "image/jpeg")], message_sid=f"MM{number:032d}")
            assert replies and replies[0] == es("We couldn't open the photo; it may be damaged. Please take it "
                                                "again and resend it."), replies
        assert elsewhere.hits() == []
    assert not any("/Accounts/AC9999" in call.path for call in twilio_api.hits())
    with whatsapp_services.database.session_scope() as session:
        assert session.execute(select(Document)).first() is None


def test_in_production_media_come_only_over_https(twilio_api: Any) -> None:
    from bot.channels.whatsapp import WhatsAppSender
    from bot.core.errors import SendError

    def sender(https_only: bool) -> WhatsAppSender:
        return WhatsAppSender(twilio_api.account_sid, twilio_api.auth_token, "whatsapp:+14155238886", twilio_api.url,
                              status_callback=None, templates={}, media_url_for=lambda a: "", https_only=https_only)

    url = twilio_api.add_media(id_card_photo(), "image/jpeg")  # the fake speaks plain http
    assert sender(https_only=False).fetch(url, None, 10_000_000) == id_card_photo()
    twilio_api.clear()
    try:
        sender(https_only=True).fetch(url, None, 10_000_000)
    except SendError as error:
        assert error.permanent
    else:
        raise AssertionError("fetched media over http in production")
    assert twilio_api.hits() == []


def test_media_bigger_than_we_accept_stop_downloading_at_the_limit(
        whatsapp_client: FlaskClient, whatsapp_services: Services, twilio_api: Any) -> None:
    from bot.service.document_checks import MAX_BYTES

    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    ana.say("hola")
    huge = id_card_photo() + b"\0" * (64 * 1024 * 1024)  # served chunked: no size announced anywhere
    replies = ana.send_media((huge, "image/jpeg"))
    assert replies[0].startswith(es("The file is too big. Send a regular photo from your phone's camera, or a "
                                    "smaller PDF."))
    # The limit plus what loopback socket buffers hold (~6 MB); before, 16 MB were read and all 64 MB offered.
    assert 0 < max(twilio_api.served.values()) < MAX_BYTES + 8 * 1024 * 1024


def test_a_huge_text_is_kept_up_to_the_limit(whatsapp_client: FlaskClient, whatsapp_services: Services,
                                             twilio_api: Any) -> None:
    from bot.channels.whatsapp import MAX_INBOUND_TEXT

    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    ana.say("hola")
    assert ana.say("Av. Juárez 123 " * 20_000)  # 300,000 characters: still answered
    with whatsapp_services.database.session_scope() as session:
        bodies = [whatsapp_services.cipher.decrypt_json(m.body) for m in session.execute(
            select(Message).where(Message.direction == "in").order_by(Message.id)).scalars()]
    assert len(bodies[-1]["text"]) == MAX_INBOUND_TEXT and bodies[-1]["text"].startswith("Av. Juárez 123")
