"""Telegram end to end: webhook in, worker out, against the loopback Bot API with the real PTB client."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.wiring import Services
from bot.worker.outbox import Dispatcher
from bot.worker.throttle import Throttle
from locales import translate
from storage.models import Case, Contact, Document, Message
from tests.helpers import TELEGRAM_SECRET, TELEGRAM_TOKEN, TEST_KEY, confirm_pending_payment, telegram_text_update
from tests.samples import document_photo, id_card_photo, pdf_document, png_photo

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
ROOT = Path(__file__).resolve().parent.parent


def es(msgid: str) -> str:
    return translate("es_MX", msgid)


class TelegramUser:
    """A Telegram user: posts updates to the webhook, lets the worker run, reads what the fake received."""

    counter = 1000

    def __init__(self, client: FlaskClient, services: Services, api: Any, chat_id: int) -> None:
        self.client, self.services, self.api, self.chat_id = client, services, api, chat_id

    def _update(self, body: dict[str, Any]) -> None:
        TelegramUser.counter += 1
        update = {"update_id": TelegramUser.counter, **body}
        assert self.client.post("/webhooks/telegram", json=update, headers=HEADERS).status_code == 200

    def _user(self) -> dict[str, Any]:
        return {"id": self.chat_id, "is_bot": False, "first_name": "Ana", "language_code": "es"}

    def _message(self, **fields: Any) -> dict[str, Any]:
        return {"message": {"message_id": TelegramUser.counter, "date": 1764300000, "from": self._user(),
                            "chat": {"id": self.chat_id, "type": "private"}, **fields}}

    def say(self, text: str) -> list[str]:
        before = len(self.sent())
        self._update(self._message(text=text))
        return self.replies(before)

    def press(self, title: str) -> list[str]:
        last = [c for c in self.sent() if c.params.get("reply_markup")][-1]
        rows = last.params["reply_markup"]["inline_keyboard"]
        data = next(b["callback_data"] for row in rows for b in row if b["text"] == title)
        return self.press_data(data, last.params.get("message_id_sent", 1))

    def press_data(self, data: str, message_id: int = 1) -> list[str]:
        before = len(self.sent())
        self._update({"callback_query": {
            "id": f"cb{TelegramUser.counter}", "from": self._user(), "chat_instance": "x", "data": data,
            "message": {"message_id": message_id, "date": 1764300000,
                        "chat": {"id": self.chat_id, "type": "private"}, "text": "?"}}})
        return self.replies(before)

    def send_file(self, content: bytes, *, photo: bool, name: str = "doc.pdf") -> list[str]:
        TelegramUser.counter += 1
        file_id = f"file{TelegramUser.counter}"
        self.api.add_file(file_id, content)
        before = len(self.sent())
        if photo:
            fields = {"photo": [{"file_id": file_id + "s", "file_unique_id": "s", "width": 90, "height": 60},
                                {"file_id": file_id, "file_unique_id": "u", "width": 1200, "height": 800,
                                 "file_size": len(content)}]}
        else:
            fields = {"document": {"file_id": file_id, "file_unique_id": "d", "file_name": name,
                                   "mime_type": "application/pdf", "file_size": len(content)}}
        self._update(self._message(**fields))
        return self.replies(before)

    def sent(self) -> list[Any]:
        return [c for c in self.api.calls_to("sendMessage") if c.params.get("chat_id") == self.chat_id
                and c.status == 200]

    def replies(self, before: int) -> list[str]:
        drain(self.services)
        return [c.params["text"] for c in self.sent()[before:]]


def drain(services: Services) -> None:
    """Run the worker's jobs until nothing is left (without the per-chat pacing, to keep tests fast)."""
    assert services.worker is not None
    dispatcher = Dispatcher(services.database, services.cipher, services.senders)
    media = services.worker.jobs[1]
    for _ in range(50):
        if dispatcher.run_once() + media.run_once() == 0:
            return


def test_full_journey_with_buttons_photos_and_a_pdf(telegram_client: FlaskClient, telegram_services: Services,
                                                     telegram_api: Any) -> None:
    ana = TelegramUser(telegram_client, telegram_services, telegram_api, 4242)
    assert "IMSS" in ana.say("/start")[0]
    ana.press(es("Start my enrollment"))
    assert telegram_api.calls_to("answerCallbackQuery")  # the press is acknowledged…
    assert telegram_api.calls_to("editMessageReplyMarkup")  # …and its keyboard removed
    ana.press(es("I accept"))
    ana.press(es("I accept"))
    for answer in ["si", "no", "no", "1", "1", "2", "2", "no"]:
        ana.say(answer)
    ana.press(es("I authorise it"))
    ana.press(es("No"))
    ana.press(es("Neither"))
    ana.press(es("Continue"))
    for answer in ("Eduardo González Díaz", "GODE561231HDFNZD03", "GODE561231GR8", "12345612340",
                   "ana@example.mx", "si", "5512345678", "06600", "Av. Juárez 123, Centro, CDMX",
                   "carpintero", "si", "15000", "mensual"):
        ana.say(answer)
    ana.press(es("Continue"))
    replies = ana.press(es("Not now"))
    assert "foto" in replies[-1].lower()
    assert ana.send_file(id_card_photo(), photo=True)[0] == es("Received, thank you! ✅")
    assert ana.send_file(png_photo(seed=2), photo=True)[0] == es("Received, thank you! ✅")
    assert ana.send_file(pdf_document(), photo=False, name="constancia.pdf")[0] == es("Received, thank you! ✅")
    assert ana.send_file(id_card_photo(seed=4), photo=True)[0] == es("Received, thank you! ✅")
    ana.say("omitir")
    offer = ana.press(es("Everything is right, send it"))
    assert "Total $1,499.00 MXN (IVA incluido)" in "\n".join(offer) and not re.search(r"PTI-2026", "\n".join(offer))
    assert "CLABE" in "\n".join(ana.press(es("I accept")))
    assert ana.send_file(document_photo(seed=21), photo=True)[0] == es("Received, thank you! ✅")
    before = len(ana.sent())
    confirm_pending_payment(telegram_services)  # staff matched the transfer: only now is the case filed
    final = ana.replies(before)
    assert re.search(r"PTI-2026-\d{6}", "\n".join(final))
    with telegram_services.database.session_scope() as session:
        case = session.execute(select(Case)).scalar_one()
        assert case.status == "received" and "documents_pending" not in case.flags
        slots = {d.slot for d in session.execute(select(Document)).scalars()}
    assert slots == {"id_front", "id_back", "tax_certificate", "proof_of_address", "payment_receipt", "fee_receipt"}


def test_old_keyboard_press_is_answered_gently(telegram_client: FlaskClient, telegram_services: Services,
                                               telegram_api: Any) -> None:
    ana = TelegramUser(telegram_client, telegram_services, telegram_api, 7)
    ana.say("hola")
    ana.press_data("requirements")
    replies = ana.press_data("benefits")
    assert replies[0] == es("That question was already answered. This is where we are now:")
    assert len(telegram_api.calls_to("answerCallbackQuery")) == 2


def test_same_update_three_times_is_one_turn(telegram_client: FlaskClient, telegram_services: Services,
                                             telegram_api: Any) -> None:
    update = telegram_text_update(777, 9, "hola")
    for _ in range(3):
        assert telegram_client.post("/webhooks/telegram", json=update, headers=HEADERS).status_code == 200
    drain(telegram_services)
    assert len(telegram_api.calls_to("sendMessage")) == 2


def test_500s_then_429_deliver_every_reply_once_and_in_order(telegram_client: FlaskClient,
                                                             telegram_services: Services, telegram_api: Any) -> None:
    telegram_api.fail_next("sendMessage", status=500, times=3)
    telegram_api.fail_next("sendMessage", status=429, retry_after=1)
    telegram_client.post("/webhooks/telegram", json=telegram_text_update(1, 9, "hola"), headers=HEADERS)
    telegram_client.post("/webhooks/telegram", json=telegram_text_update(2, 9, "4"), headers=HEADERS)
    clock = [datetime.now().astimezone()]
    dispatcher = Dispatcher(telegram_services.database, telegram_services.cipher, telegram_services.senders,
                            clock=lambda: clock[0])
    for _ in range(30):
        dispatcher.run_once()
        clock[0] += timedelta(minutes=1)
    delivered = [c.params["text"] for c in telegram_api.calls_to("sendMessage") if c.status == 200]
    assert len(delivered) == 3
    assert "IMSS" in delivered[0] and "CURP" in delivered[2]


def test_blocked_user_is_not_retried_and_block_events_flip_reachability(
        telegram_client: FlaskClient, telegram_services: Services, telegram_api: Any) -> None:
    telegram_api.fail_next("sendMessage", status=403, times=1)
    telegram_client.post("/webhooks/telegram", json=telegram_text_update(1, 9, "hola"), headers=HEADERS)
    drain(telegram_services)
    assert len([c for c in telegram_api.calls_to("sendMessage") if c.status == 403]) == 1

    def reachable() -> bool:
        with telegram_services.database.session_scope() as session:
            return bool(session.execute(select(Contact.reachable)).scalar_one())

    assert not reachable()
    for update_id, status in ((5, "member"), (6, "kicked")):
        telegram_client.post("/webhooks/telegram", headers=HEADERS, json={"update_id": update_id, "my_chat_member": {
            "chat": {"id": 9, "type": "private"}, "from": {"id": 9, "is_bot": False, "first_name": "A"},
            "date": 1764300000,
            "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "bot"}},
            "new_chat_member": {"status": status, "user": {"id": 1, "is_bot": True, "first_name": "bot"},
                                **({"until_date": 0} if status == "kicked" else {})}}})
        assert reachable() == (status == "member")


def test_fifty_users_at_once_each_get_their_own_replies(telegram_client: FlaskClient,
                                                        telegram_services: Services, telegram_api: Any) -> None:
    def user(chat: int) -> None:
        telegram_client.post("/webhooks/telegram", json=telegram_text_update(10_000 + chat, chat, "hola"),
                             headers=HEADERS)
        telegram_client.post("/webhooks/telegram", json=telegram_text_update(20_000 + chat, chat, "4"),
                             headers=HEADERS)

    threads = [threading.Thread(target=user, args=(chat,)) for chat in range(1, 51)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain(telegram_services)
    for chat in range(1, 51):
        texts = [c.params["text"] for c in telegram_api.calls_to("sendMessage") if c.params["chat_id"] == chat]
        assert len(texts) == 3 and "IMSS" in texts[0] and "CURP" in texts[2], chat


def test_edits_stickers_and_huge_files_get_a_friendly_line(telegram_client: FlaskClient,
                                                          telegram_services: Services, telegram_api: Any) -> None:
    ana = TelegramUser(telegram_client, telegram_services, telegram_api, 31)
    ana.say("hola")
    before = len(ana.sent())
    TelegramUser.counter += 1
    telegram_client.post("/webhooks/telegram", headers=HEADERS, json={
        "update_id": TelegramUser.counter, "edited_message": {
            "message_id": 1, "date": 1764300000, "edit_date": 1764300100, "text": "holi",
            "chat": {"id": 31, "type": "private"}, "from": ana._user()}})
    assert ana.replies(before)[0] == es("I only read new messages. If you corrected something, please send it again.")
    before = len(ana.sent())
    ana._update(ana._message(sticker={"file_id": "st", "file_unique_id": "st", "type": "regular", "width": 1,
                                      "height": 1, "is_animated": False, "is_video": False}))
    assert ana.replies(before)[0] == es("😊 Thanks!")  # a sticker gets a friendly line (issue 22)
    before = len(ana.sent())
    ana._update(ana._message(document={"file_id": "big", "file_unique_id": "b", "file_name": "x.pdf",
                                       "mime_type": "application/pdf", "file_size": 25 * 1024 * 1024}))
    assert "grande" in ana.replies(before)[0].lower()
    assert telegram_api.calls_to("getFile") == []  # refused before downloading


def test_locale_and_deep_link(telegram_client: FlaskClient, telegram_services: Services, telegram_api: Any) -> None:
    bob = TelegramUser(telegram_client, telegram_services, telegram_api, 55)
    bob._update(bob._message(text="/start enroll"))
    drain(telegram_services)
    texts = [c.params["text"] for c in bob.sent()]
    assert "/legal/terms" in texts[-1]  # straight to the terms of the enrollment


def test_long_texts_are_split_under_the_limit(telegram_services: Services, telegram_api: Any) -> None:
    from bot.core.messages import Outbound, Recipient

    sender = telegram_services.senders["telegram"]
    sender.send(Recipient("8"), Outbound(("palabra " * 1200).strip()))
    texts = [c.params["text"] for c in telegram_api.calls_to("sendMessage")]
    assert len(texts) == 3 and all(len(text) <= 4096 for text in texts)


def test_throttle_paces_each_chat_and_the_whole_channel() -> None:
    throttle = Throttle(per_second=30, per_chat_interval=1.0)
    start = datetime(2026, 11, 28, 12, 0, 0).astimezone()
    assert throttle.reserve("a", start) == 0
    assert abs(throttle.reserve("a", start + timedelta(milliseconds=100)) - 0.9) < 1e-6
    assert throttle.reserve("b", start) > 0  # the overall pace: one every 1/30 s
    assert throttle.reserve("b", start + timedelta(milliseconds=34)) == 0
    sent = sum(throttle.reserve(f"c{i}", start + timedelta(seconds=1, milliseconds=i)) == 0 for i in range(100))
    assert sent <= 4


def test_cli_sets_the_webhook_and_polls(database_url: str, tmp_path: Path, telegram_api: Any) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "PTIBOT_DATA_DIR": str(tmp_path),
           "SECRET_KEY": "x" * 32, "DATA_ENCRYPTION_KEYS": TEST_KEY, "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
           "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET, "TELEGRAM_API_BASE_URL": telegram_api.url,
           "PUBLIC_BASE_URL": "https://bot.example.mx"}
    run = subprocess.run([sys.executable, "-m", "bot", "telegram", "set-webhook"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    call = telegram_api.calls_to("setWebhook")[0]
    assert call.params["url"] == "https://bot.example.mx/webhooks/telegram"
    assert call.params["secret_token"] == TELEGRAM_SECRET
    assert "callback_query" in call.params["allowed_updates"]
    telegram_api.queue_update(telegram_text_update(1, 66, "hola"))
    run = subprocess.run([sys.executable, "-m", "bot", "telegram", "poll", "--once"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    assert any(c.params.get("chat_id") == 66 for c in telegram_api.calls_to("sendMessage"))
    run = subprocess.run([sys.executable, "-m", "bot", "telegram", "delete-webhook"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and telegram_api.calls_to("deleteWebhook")


def test_outbound_rows_record_the_provider_message(telegram_client: FlaskClient, telegram_services: Services,
                                                   telegram_api: Any) -> None:
    telegram_client.post("/webhooks/telegram", json=telegram_text_update(1, 12, "hola"), headers=HEADERS)
    drain(telegram_services)
    with telegram_services.database.session_scope() as session:
        ids = [m.provider_id for m in session.execute(select(Message).where(Message.direction == "out")).scalars()]
    chat = telegram_services.cipher.identifier_hash("12")[:16]  # the chat id itself is not kept in clear
    assert ids and all(i and i.startswith(f"{chat}:") for i in ids)


def test_a_file_that_lies_about_its_size_stops_downloading_at_the_limit(
        telegram_client: FlaskClient, telegram_services: Services, telegram_api: Any) -> None:
    from bot.service.document_checks import MAX_BYTES

    ana = TelegramUser(telegram_client, telegram_services, telegram_api, 77)
    ana.say("hola")
    huge = id_card_photo() + b"\0" * (64 * 1024 * 1024)
    path = telegram_api.add_file("liar", huge, reported_size=100)  # getFile says 100 bytes; served chunked
    before = len(ana.sent())
    ana._update(ana._message(document={"file_id": "liar", "file_unique_id": "l", "file_name": "ine.jpg",
                                       "mime_type": "image/jpeg", "file_size": 100}))
    assert ana.replies(before)[0] == es("The file is too big. Send a regular photo from your phone's camera, or a "
                                        "smaller PDF.")
    # The limit plus what loopback socket buffers hold; before, all 64 MB were downloaded into memory.
    assert 0 < telegram_api.served[path] < MAX_BYTES + 8 * 1024 * 1024
    with telegram_services.database.session_scope() as session:
        assert session.execute(select(Document)).first() is None


def test_a_file_reported_over_our_limit_is_refused_before_downloading(
        telegram_client: FlaskClient, telegram_services: Services, telegram_api: Any) -> None:
    ana = TelegramUser(telegram_client, telegram_services, telegram_api, 78)
    ana.say("hola")
    telegram_api.add_file("big", b"x")
    before = len(ana.sent())
    ana._update(ana._message(document={"file_id": "big", "file_unique_id": "b", "file_name": "x.pdf",
                                       "mime_type": "application/pdf", "file_size": 15 * 1024 * 1024}))
    assert "grande" in ana.replies(before)[0].lower()
    assert telegram_api.calls_to("getFile") == []
