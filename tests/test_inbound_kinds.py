"""Everything people send (issue 22): voice notes, stickers, GIFs, videos, locations, contact cards, reactions.

Each kind goes in through the real webhooks with the payload shapes the platforms post (Twilio's form fields,
Telegram `Update` objects), at the menu, at a document step, at the address and phone questions and during a
handoff; staff then see and play it in the inbox.
"""

from __future__ import annotations

import struct
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.channels.telegram import parse_update
from bot.channels.whatsapp import parse_form
from bot.dialog.kinds import AUDIO, CONTACT_ELSEWHERE, PLACE_ELSEWHERE, PLACE_KEPT, STICKER, STICKER_AT_UPLOAD, VIDEO
from bot.service.uploads import audio_duration, media_kind, parse_vcard
from bot.wiring import Services
from bot.worker.outbox import Dispatcher
from locales import translate
from storage.conversations import ConversationRepository
from storage.models import Document, MediaJob, MessageAudio
from storage.retention import purge_abandoned_conversations
from tests.helpers import (
    CURP,
    ELIGIBLE,
    FULL_NAME,
    NSS,
    RFC,
    TELEGRAM_SECRET,
    Phone,
    WhatsAppUser,
    conversation_id_of_ref,
    login,
    make_staff,
    post_signed,
)
from tests.samples import id_card_photo, voice_note

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
TO_PHONE = ["hola", "1", "acepto", "acepto", *ELIGIBLE, "2", "continuar", FULL_NAME, CURP, RFC, NSS,
            "ana@example.mx", "si"]
TO_DOCUMENTS = ["Av. Juárez 123, Centro, CDMX", "carpintero", "si", "15000", "mensual", "continuar", "no"]
NEVER = ("dañada", "tipo de archivo", "Solo puedo leer texto")  # what voice notes and stickers used to get


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


# -- recorded media --------------------------------------------------------------------------------------------


def mp4_video() -> bytes:
    return struct.pack(">I", 24) + b"ftypisom" + b"\0\0\2\0isomiso2" + struct.pack(">I", 8) + b"mdat"


VCARD = (b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:L\xc3\xb3pez;Mar\xc3\xada;;;\r\nFN:Mar\xc3\xada L\xc3\xb3pez\r\n"
         b"TEL;type=CELL;type=VOICE;waid=5215587654321:+52 1 55 8765 4321\r\nEND:VCARD\r\n")


# -- Telegram: a user who posts real Update shapes ----------------------------------------------------------------
class TelegramUser:
    counter = 5000

    def __init__(self, client: FlaskClient, services: Services, api: Any, chat_id: int) -> None:
        self.client, self.services, self.api, self.chat_id = client, services, api, chat_id

    def send(self, **fields: Any) -> list[str]:
        TelegramUser.counter += 1
        before = len(self.sent())
        update = {"update_id": TelegramUser.counter, "message": {
            "message_id": TelegramUser.counter, "date": 1764300000, "chat": {"id": self.chat_id, "type": "private"},
            "from": {"id": self.chat_id, "is_bot": False, "first_name": "Ana", "language_code": "es"}, **fields}}
        assert self.client.post("/webhooks/telegram", json=update, headers=HEADERS).status_code == 200
        drain(self.services)
        return [c.params["text"] for c in self.sent()[before:]]

    def say(self, text: str) -> list[str]:
        return self.send(text=text)

    def sent(self) -> list[Any]:
        return [c for c in self.api.calls_to("sendMessage") if c.params.get("chat_id") == self.chat_id
                and c.status == 200]

    def voice(self, content: bytes, duration: int = 7) -> list[str]:
        file_id = f"voice{uuid.uuid4().hex[:8]}"
        self.api.add_file(file_id, content, f"voice/{file_id}.oga")
        return self.send(voice={"file_id": file_id, "file_unique_id": file_id[-6:], "duration": duration,
                                "mime_type": "audio/ogg", "file_size": len(content)})


def drain(services: Services) -> None:
    assert services.worker is not None
    dispatcher = Dispatcher(services.database, services.cipher, services.senders)
    for _ in range(50):
        if dispatcher.run_once() + services.worker.jobs[1].run_once() == 0:
            return


def wa_send(user: WhatsAppUser, body: str = "", extra: dict[str, str] | None = None, **fields: Any) -> list[str]:
    """A WhatsApp message with Twilio's extra fields (Address, Label, MessageType…) signed like the rest."""
    before = len(user.received())
    params = user.api.inbound_payload(f"whatsapp:{user.number}", body, **fields)
    params.update(extra or {})
    assert post_signed(user.client, user.api, "/webhooks/whatsapp", params).status_code == 200
    drain(user.services)
    return [m.get("Body", "") for m in user.received()[before:]]


def wa_media(user: WhatsAppUser, content: bytes, content_type: str, extra: dict[str, str] | None = None) -> list[str]:
    return wa_send(user, media=[(user.api.add_media(content, content_type), content_type)], extra=extra)


def state_of(services: Services, ref: str) -> tuple[str, dict[str, Any], str]:
    conversation_id = conversation_id_of_ref(services, ref)
    with services.database.session_scope() as db:
        state = ConversationRepository(db, services.cipher).lock_by_id(conversation_id)
        assert state is not None
    return state.state, state.data, state.owner


def count(services: Services, model: Any) -> int:
    with services.database.session_scope() as db:
        return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def assert_friendly(replies: list[str]) -> None:
    assert replies and not any(word in reply for reply in replies for word in NEVER), replies


# -- parsing the recorded shapes ------------------------------------------------------------------------------------
def _tg(**fields: Any) -> dict[str, Any]:
    return {"update_id": 9, "message": {"message_id": 9, "date": 1764300000, "chat": {"id": 5, "type": "private"},
                                        "from": {"id": 5, "is_bot": False, "first_name": "Ana"}, **fields}}


def test_telegram_kinds_are_parsed_from_real_update_shapes() -> None:
    thumb = {"file_id": "t", "file_unique_id": "t", "width": 90, "height": 90}
    gif = {"file_id": "g", "file_unique_id": "g", "width": 320, "height": 240, "duration": 2,
           "file_name": "giphy.mp4", "mime_type": "video/mp4", "file_size": 9000}
    cases = {
        "audio": [_tg(voice={"file_id": "v", "file_unique_id": "v", "duration": 7, "mime_type": "audio/ogg",
                             "file_size": 9000}),
                  _tg(audio={"file_id": "a", "file_unique_id": "a", "duration": 200, "performer": "Chente",
                             "title": "El Rey", "file_name": "rey.mp3", "mime_type": "audio/mpeg", "file_size": 9}),
                  _tg(document={"file_id": "d", "file_unique_id": "d", "file_name": "nota.m4a",
                                "mime_type": "audio/mp4", "file_size": 9000})],
        "video": [_tg(video={"file_id": "x", "file_unique_id": "x", "width": 640, "height": 360, "duration": 9,
                             "mime_type": "video/mp4", "file_size": 90000}),
                  _tg(video_note={"file_id": "n", "file_unique_id": "n", "length": 240, "duration": 5,
                                  "thumbnail": thumb, "file_size": 9000})],
        "sticker": [_tg(sticker={"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512,
                                 "height": 512, "is_animated": False, "is_video": False, "emoji": "😂",
                                 "set_name": "Perritos", "file_size": 9000}),
                    _tg(animation=gif, document=gif), _tg(dice={"emoji": "🎲", "value": 4})],
        "location": [_tg(location={"latitude": 19.432608, "longitude": -99.133209, "horizontal_accuracy": 12.5}),
                     _tg(location={"latitude": 19.4326, "longitude": -99.1332},
                         venue={"location": {"latitude": 19.4326, "longitude": -99.1332}, "title": "Casa",
                                "address": "Av. Juárez 123, Centro, CDMX"})],
        "contact": [_tg(contact={"phone_number": "+5215587654321", "first_name": "María", "last_name": "López",
                                 "user_id": 77, "vcard": VCARD.decode()})],
        "unsupported": [_tg(poll={"id": "p", "question": "¿Sí?",
                                  "options": [{"text": "Sí", "voter_count": 0, "persistent_id": "0"}],
                                  "total_voter_count": 0, "is_closed": False, "is_anonymous": True,
                                  "type": "regular", "allows_multiple_answers": False,
                                  "allows_revoting": True, "members_only": False})],
    }
    for kind, updates in cases.items():
        for update in updates:
            inbound = parse_update(update)
            assert inbound is not None and inbound.kind == kind, (kind, update, inbound)
    voice = parse_update(cases["audio"][0])
    assert voice is not None and voice.attachments[0].duration == 7 and voice.attachments[0].kind == "audio"
    venue = parse_update(cases["location"][1])
    assert venue is not None and venue.location is not None and venue.location.address == "Av. Juárez 123, Centro, CDMX"
    card = parse_update(cases["contact"][0])
    assert card is not None and card.contact is not None and card.contact.name == "María López"
    album = parse_update(_tg(media_group_id="13579", photo=[{"file_id": "p", "file_unique_id": "p", "width": 800,
                                                            "height": 600, "file_size": 9000}]))
    assert album is not None and album.attachments[0].kind == "image" and ("media_group", "13579") in album.meta
    live = _tg(location={"latitude": 19.4326, "longitude": -99.1332, "live_period": 900})
    live["edited_message"] = {**live.pop("message"), "edit_date": 1764300060}
    assert parse_update(live) is None  # a live location's updates are not answered one by one
    for bad in ({"latitude": "x", "longitude": 1}, {"latitude": 91.0, "longitude": 1.0}):
        with pytest.raises(Exception, match="malformed"):
            parse_update(_tg(location=bad))


def test_twilio_kinds_are_parsed_from_real_webhook_fields() -> None:
    base = {"From": "whatsapp:+5215512345678", "To": "whatsapp:+14155238886", "MessageSid": "MM" + "a" * 32,
            "AccountSid": "AC" + "b" * 32, "Body": "", "ProfileName": "Ana", "WaId": "5215512345678"}
    url = "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME"
    media = {"NumMedia": "1", "MediaUrl0": url}
    assert parse_form({**base, **media, "MediaContentType0": "audio/ogg", "MessageType": "audio"}).kind == "audio"
    assert parse_form({**base, **media, "MediaContentType0": "image/webp", "MessageType": "sticker"}).kind == "sticker"
    assert parse_form({**base, **media, "MediaContentType0": "video/mp4", "MessageType": "video"}).kind == "video"
    card = parse_form({**base, **media, "MediaContentType0": "text/vcard", "MessageType": "contacts"})
    assert card.kind == "message" and card.attachments[0].kind == "contact"
    place = parse_form({**base, "NumMedia": "0", "MessageType": "location", "Latitude": "19.4326",
                        "Longitude": "-99.1332", "Address": "Av. Juárez 123, Centro, CDMX", "Label": "Casa"})
    assert place.kind == "location" and place.location is not None and place.location.name == "Casa"
    assert parse_form({**base, "NumMedia": "0", "Latitude": "nan", "Longitude": "1"}).kind == "unsupported"
    button = parse_form({**base, "NumMedia": "0", "MessageType": "button", "ButtonText": "Sí", "ButtonPayload": "yes"})
    assert button.payload == "yes"
    assert parse_form({**base, "NumMedia": "0", "MessageType": "reaction", "Body": "❤️"}).kind == "reaction"


def test_recordings_videos_and_contact_cards_are_told_apart_by_their_bytes() -> None:
    assert media_kind(voice_note()) == "audio" and audio_duration(voice_note(7)) == 7
    assert media_kind(mp4_video()) == "video"
    assert media_kind(id_card_photo()) is None
    card = parse_vcard(VCARD)
    assert card is not None and card.name == "María López" and card.phone == "+5215587654321"


# -- WhatsApp through the webhook -----------------------------------------------------------------------------------
def test_whatsapp_voice_note_at_the_menu_is_answered_kept_and_played_in_the_inbox(
        whatsapp_client: FlaskClient, whatsapp_services: Services, twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    ana.say("hola")
    audio = voice_note(7)
    replies = wa_media(ana, audio, "audio/ogg")
    assert_friendly(replies)
    assert replies[0].startswith(es(AUDIO)) and "*asesor*" in replies[0]  # the offer of a person
    assert replies[1].startswith(es("How can I help you? Choose an option:"))  # the question, in one line
    assert count(whatsapp_services, Document) == 1 and count(whatsapp_services, MessageAudio) == 1
    with whatsapp_services.database.session_scope() as db:
        document = db.execute(select(Document)).scalar_one()
        assert document.content_type == "audio/ogg" and document.slot is None
        assert db.execute(select(MessageAudio.duration)).scalar_one() == 7
        stored = document.storage_name
    assert audio not in whatsapp_services.documents.root.joinpath(stored[:2], stored).read_bytes()  # encrypted
    make_staff(whatsapp_services)
    assert login(whatsapp_client).status_code == 302
    page = whatsapp_client.get(f"/inbox/c/{conversation_id_of_ref(whatsapp_services, '+5215512345678')}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<audio controls" in html and "0:07" in html
    source = html.split("<source src=\"", 1)[1].split("\"", 1)[0]
    played = whatsapp_client.get(source)
    assert played.status_code == 200 and played.mimetype == "audio/ogg" and played.data == audio


def test_whatsapp_sticker_video_reaction_and_emoji_at_the_menu(whatsapp_client: FlaskClient,
                                                               whatsapp_services: Services, twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    ana.say("hola")
    sticker = wa_media(ana, b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 16, "image/webp")
    assert_friendly(sticker)
    assert sticker[0] == es(STICKER)
    video = wa_media(ana, mp4_video(), "video/mp4")
    assert video[0] == es(VIDEO)
    assert wa_send(ana, "❤️", extra={"MessageType": "reaction"}) == []  # a reaction: nothing
    assert ana.say("🙏❤️")[0] == es(STICKER)  # emoji only: friendly, not "no entendí"
    place = wa_send(ana, latitude=19.4326, longitude=-99.1332)
    assert place[0] == es(PLACE_ELSEWHERE)
    assert count(whatsapp_services, Document) == 0 and count(whatsapp_services, MediaJob) == 0  # none kept


def test_whatsapp_phone_address_and_document_steps(whatsapp_client: FlaskClient, whatsapp_services: Services,
                                                    twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    for answer in TO_PHONE:
        ana.say(answer)
    assert state_of(whatsapp_services, "+5215512345678")[0] == "confirm_phone"
    offer = wa_media(ana, VCARD, "text/vcard")  # WhatsApp sends a contact card as a vCard file
    assert offer[-1].startswith(es("Shall I use this number? *%(value)s*", value="+5215587654321"))
    assert "1. Sí" in offer[-1]
    ana.say("1")
    state, data, _ = state_of(whatsapp_services, "+5215512345678")
    assert state == "ask_postal_code" and data["phone"] == "+525587654321"
    ana.say("06600")
    voice = wa_media(ana, voice_note(3), "audio/ogg")
    assert voice[0].startswith(es(AUDIO)) and voice[1].startswith("Tu domicilio: calle")
    place = wa_send(ana, latitude=19.4326, longitude=-99.1332)
    assert place[0] == es(PLACE_KEPT)
    state, data, _ = state_of(whatsapp_services, "+5215512345678")
    assert state == "ask_address" and data["address_location"]["latitude"] == 19.4326
    named = wa_send(ana, latitude=19.4326, longitude=-99.1332,
                    extra={"Address": "Av. Juárez 123, Centro, Cuauhtémoc, CDMX", "Label": "Casa"})
    assert named[-1].startswith(es("Is this your address? *%(value)s*",
                                   value="Av. Juárez 123, Centro, Cuauhtémoc, CDMX"))
    ana.say("si")
    state, data, _ = state_of(whatsapp_services, "+5215512345678")
    assert state == "ask_occupation" and data["address"].startswith("Av. Juárez 123")
    for answer in TO_DOCUMENTS[1:]:
        ana.say(answer)
    assert state_of(whatsapp_services, "+5215512345678")[0] == "doc_id_front"
    sticker = wa_media(ana, b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 16, "image/webp")
    assert sticker[0] == es(STICKER_AT_UPLOAD)
    assert state_of(whatsapp_services, "+5215512345678")[0] == "doc_id_front"  # not taken as the document
    assert wa_media(ana, mp4_video(), "video/mp4")[0] == es(VIDEO)
    make_staff(whatsapp_services)
    assert login(whatsapp_client).status_code == 302
    html = whatsapp_client.get(f"/inbox/c/{conversation_id_of_ref(whatsapp_services, '+5215512345678')}"
                               ).get_data(as_text=True)
    assert "https://www.openstreetmap.org/?mlat=19.432600&amp;mlon=-99.133200" in html
    assert "María López" in html and "<audio controls" in html


def test_during_a_handoff_a_voice_note_reaches_the_agent_without_a_bot_reply(
        whatsapp_client: FlaskClient, whatsapp_services: Services, twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    ana.say("hola")
    ana.say("asesor")
    assert state_of(whatsapp_services, "+5215512345678")[2] == "human"
    assert wa_media(ana, voice_note(4), "audio/ogg") == []
    assert wa_media(ana, b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 16, "image/webp") == []
    assert wa_send(ana, latitude=19.4326, longitude=-99.1332) == []
    assert count(whatsapp_services, MessageAudio) == 1  # kept for the agent to play


def test_erasing_my_data_removes_the_voice_notes(whatsapp_client: FlaskClient, whatsapp_services: Services,
                                                 twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    ana.say("hola")
    wa_media(ana, voice_note(5), "audio/ogg")
    with whatsapp_services.database.session_scope() as db:
        stored = db.execute(select(Document.storage_name)).scalar_one()
    ana.say("borrar mis datos")
    ana.say("1")
    assert count(whatsapp_services, Document) == 0 and count(whatsapp_services, MessageAudio) == 0
    with pytest.raises(FileNotFoundError):
        whatsapp_services.documents.load(stored)


def test_retention_of_abandoned_enrollments_removes_the_voice_notes(
        whatsapp_client: FlaskClient, whatsapp_services: Services, twilio_api: Any) -> None:
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    ana.say("hola")
    wa_media(ana, voice_note(2), "audio/ogg")
    with whatsapp_services.database.session_scope() as db:
        stored = db.execute(select(Document.storage_name)).scalar_one()
        later = datetime.now(UTC) + timedelta(days=400)
        assert purge_abandoned_conversations(db, whatsapp_services.cipher, whatsapp_services.documents, later) == 1
    assert count(whatsapp_services, Document) == 0 and count(whatsapp_services, MessageAudio) == 0
    with pytest.raises(FileNotFoundError):
        whatsapp_services.documents.load(stored)


# -- Telegram through the webhook -----------------------------------------------------------------------------------
def test_telegram_kinds_at_the_menu_phone_beneficiary_and_document_steps(
        telegram_client: FlaskClient, telegram_services: Services, telegram_api: Any) -> None:
    ana = TelegramUser(telegram_client, telegram_services, telegram_api, 4321)
    ana.say("hola")
    assert ana.send(sticker={"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512,
                             "is_animated": False, "is_video": False, "emoji": "😂"})[0] == es(STICKER)
    gif = {"file_id": "g", "file_unique_id": "g", "width": 320, "height": 240, "duration": 2,
           "file_name": "giphy.mp4", "mime_type": "video/mp4"}
    assert ana.send(animation=gif, document=gif)[0] == es(STICKER)
    assert ana.send(dice={"emoji": "🎲", "value": 3})[0] == es(STICKER)
    assert ana.send(video_note={"file_id": "n", "file_unique_id": "n", "length": 240, "duration": 5})[0] == es(VIDEO)
    assert ana.send(contact={"phone_number": "+5215587654321", "first_name": "María"})[0] == es(CONTACT_ELSEWHERE)
    voice = ana.voice(voice_note(9), duration=9)
    assert_friendly(voice)
    assert voice[0].startswith(es(AUDIO))
    assert count(telegram_services, MessageAudio) == 1
    with telegram_services.database.session_scope() as db:
        assert db.execute(select(MessageAudio.duration)).scalar_one() == 9
    for answer in TO_PHONE:
        ana.say(answer)
    assert state_of(telegram_services, "4321")[0] == "ask_phone"
    offer = ana.send(contact={"phone_number": "+5215587654321", "first_name": "Ana", "last_name": "Ruiz",
                              "user_id": 4321})
    assert offer[-1].startswith("¿Uso este número?")
    ana.say("sí")
    assert state_of(telegram_services, "4321")[1]["phone"] == "+525587654321"
    ana.say("06600")
    venue = ana.send(location={"latitude": 19.4326, "longitude": -99.1332},
                     venue={"location": {"latitude": 19.4326, "longitude": -99.1332}, "title": "Casa",
                            "address": "Av. Juárez 123, Centro, Cuauhtémoc, CDMX"})
    assert venue[-1].startswith("¿Este es tu domicilio?")
    ana.say("no")
    for answer in TO_DOCUMENTS[:-1]:
        ana.say(answer)
    ana.say("si")  # beneficiaries: yes, add one
    assert state_of(telegram_services, "4321")[0] == "ask_beneficiary"
    named = ana.send(contact={"phone_number": "+5215511112222", "first_name": "María", "last_name": "López"})
    assert "María López" in named[-1]
    ana.say("esposa")
    state, data, _ = state_of(telegram_services, "4321")
    assert state == "more_beneficiaries" and data["beneficiaries"][0]["name"] == "María López"
    ana.say("no")
    assert state_of(telegram_services, "4321")[0] == "doc_id_front"
    assert ana.send(sticker={"file_id": "s2", "file_unique_id": "s2", "type": "regular", "width": 512,
                             "height": 512, "is_animated": False, "is_video": False})[0] == es(STICKER_AT_UPLOAD)
    assert ana.send(video={"file_id": "x", "file_unique_id": "x", "width": 640, "height": 360, "duration": 9,
                           "mime_type": "video/mp4"})[0] == es(VIDEO)
    assert state_of(telegram_services, "4321")[0] == "doc_id_front"
    assert len(telegram_api.calls_to("getFile")) == 1  # only the voice note was downloaded


def test_telegram_voice_note_during_a_handoff_gets_no_reply(telegram_client: FlaskClient,
                                                            telegram_services: Services, telegram_api: Any) -> None:
    ana = TelegramUser(telegram_client, telegram_services, telegram_api, 4322)
    ana.say("hola")
    ana.say("asesor")
    assert ana.voice(voice_note(2), duration=2) == []
    assert ana.send(sticker={"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512,
                             "height": 512, "is_animated": False, "is_video": False}) == []
    assert count(telegram_services, MessageAudio) == 1


# -- web chat: only text and files exist there ---------------------------------------------------------------------
def test_web_chat_audio_and_video_files_get_the_same_answers(phone: Phone, services: Services) -> None:
    phone.send("hola")
    replies = phone.upload(voice_note(6), "nota.ogg")
    assert replies[0]["text"] == es(AUDIO) and not any(w in phone.text() for w in NEVER)
    assert count(services, MessageAudio) == 1
    replies = phone.upload(mp4_video(), "video.mp4")
    assert replies[0]["text"] == es(VIDEO)
    assert count(services, Document) == 1  # the recording only; the video is not kept
