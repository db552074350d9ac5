"""Telegram through python-telegram-bot: verify the webhook secret, parse updates, send messages.

PTB's `Bot` is async and must live on one event loop, so each process keeps one loop thread (made
lazily, and anew after a fork) and sends through it with `run_coroutine_threadsafe`.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import os
import re
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest as TelegramBadRequest
from telegram.error import Forbidden as TelegramForbidden
from telegram.error import RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.core.errors import BadRequest, Forbidden, MediaTooLarge, SendError
from bot.core.messages import Attachment, Inbound, Location, Outbound, Recipient, SendResult, SharedContact
from bot.core.text import split_text

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB
DOWNLOAD_SECONDS = 120.0  # a whole download, so a server trickling bytes cannot hold a worker for ever
MAX_CALLBACK_BYTES = 64
SEND_TIMEOUT = 30.0
_BOLD = re.compile(r"\*([^*\n]+)\*")
T = TypeVar("T")


def verify(header_value: str | None, secret: str | None) -> None:
    """Constant-time check of `X-Telegram-Bot-Api-Secret-Token`; raises `Forbidden` on mismatch."""
    if not secret or not header_value or not hmac.compare_digest(header_value.encode(), secret.encode()):
        raise Forbidden("bad Telegram secret token")


MAX_ID = 2**62  # Telegram ids use at most 52 bits; anything near the database's 64-bit range is forged
MAX_SIDE = 100_000  # pixels; Telegram photo sizes are a few thousand


def parse_update(data: Any) -> Inbound | None:
    """Turn an Update into an `Inbound`; None for updates the bot ignores (e.g. channel posts).

    Every field the bot reads is type- and range-checked before use: PTB's `de_json` takes whatever the JSON
    holds, and a string `width` times a huge `height` is a 100 MB string, not a number.
    """
    if not isinstance(data, dict) or not _is_int(data.get("update_id"), 0, MAX_ID):
        raise BadRequest("not a Telegram update")
    try:
        update = Update.de_json(data, None)
        _check_shape(update)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError, RecursionError) as error:
        raise BadRequest("malformed Telegram update") from error
    provider_id = str(update.update_id)
    if update.callback_query and update.callback_query.from_user:
        query = update.callback_query
        user = query.from_user
        chat_id = query.message.chat.id if query.message else user.id
        ack = [("callback_query_id", query.id)]
        if query.message:
            ack.append(("message_id", str(query.message.message_id)))
        return Inbound(CHANNEL, str(chat_id), provider_id, payload=query.data or "",
                       locale_hint=user.language_code, display_name=user.full_name, ack=tuple(ack))
    if update.my_chat_member:
        member = update.my_chat_member
        blocked = member.new_chat_member.status in ("kicked", "left")
        return Inbound(CHANNEL, str(member.chat.id), provider_id, kind="status",
                       payload="unreachable" if blocked else "reachable")
    if update.edited_message and update.edited_message.from_user:
        edited = update.edited_message
        if edited.location is not None:  # a live location moving: every few seconds, nothing to answer
            return None
        return Inbound(CHANNEL, str(edited.chat.id), provider_id, kind="edited",
                       locale_hint=edited.from_user.language_code if edited.from_user else None)
    message = update.message
    if message is None or message.from_user is None or message.chat.type != "private":
        return None
    user = message.from_user
    common: dict[str, Any] = {
        "channel": CHANNEL, "contact_ref": str(message.chat.id), "provider_id": provider_id,
        "locale_hint": user.language_code, "display_name": user.full_name,
    }
    if message.media_group_id:  # an album arrives as one update per item; each fills the next document
        common["meta"] = (("media_group", str(message.media_group_id)[:64]),)
    if message.text:
        return _text(message.text, common)
    caption = message.caption or ""
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return Inbound(text=caption, attachments=(Attachment(
            "image", largest.file_id, "image/jpeg", None, largest.file_size),), **common)
    if message.animation or message.sticker or message.dice:  # a GIF also carries a `document`: checked first
        return Inbound(kind="sticker", text=caption, **common)
    sound = message.voice or message.audio
    if sound is not None:
        file_name = message.audio.file_name if message.audio else None
        return Inbound(kind="audio", text=caption, attachments=(Attachment(
            "audio", sound.file_id, sound.mime_type or ("audio/ogg" if message.voice else "audio/mpeg"), file_name,
            sound.file_size, _seconds(sound.duration)),), **common)
    if message.video or message.video_note:
        return Inbound(kind="video", text=caption, **common)
    if message.document:
        document = message.document
        mime = (document.mime_type or "").lower()
        if mime.startswith("audio/"):  # a recording sent as a file
            return Inbound(kind="audio", text=caption, attachments=(Attachment(
                "audio", document.file_id, mime, document.file_name, document.file_size),), **common)
        if mime.startswith("video/"):
            return Inbound(kind="video", text=caption, **common)
        return Inbound(text=caption, attachments=(Attachment(
            "document", document.file_id, document.mime_type, document.file_name, document.file_size),),
            **common)
    point = message.venue.location if message.venue else message.location
    if point is not None:
        venue = message.venue
        return Inbound(kind="location", location=Location(
            point.latitude, point.longitude, (venue.title or "")[:200] or None if venue else None,
            (venue.address or "")[:300] or None if venue else None), **common)
    if message.contact:
        card = message.contact
        name = " ".join(part for part in (card.first_name, card.last_name) if part)[:200]
        return Inbound(kind="contact", contact=SharedContact(name, (card.phone_number or "")[:40] or None), **common)
    return Inbound(kind="unsupported", **common)


def _seconds(duration: Any) -> int | None:
    """PTB 22 gives durations as `timedelta` (or int seconds, depending on its settings)."""
    seconds = duration.total_seconds() if hasattr(duration, "total_seconds") else duration
    return int(seconds) if isinstance(seconds, (int, float)) and 0 <= seconds < 10**7 else None


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_number(value: Any, limit: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and -limit <= value <= limit


def _is_text(value: Any, optional: bool = True) -> bool:
    return (value is None and optional) or isinstance(value, str)


def _check_shape(update: Update) -> None:
    """Raise `ValueError` unless every field `parse_update` reads has the type and range the Bot API promises."""

    def chat(chat: Any) -> None:
        if chat is None or not _is_int(chat.id, -MAX_ID, MAX_ID) or not _is_text(chat.type, False):
            raise ValueError("chat")

    def user(user: Any) -> None:
        if user is not None and not (_is_int(user.id, -MAX_ID, MAX_ID) and _is_text(user.first_name, False)
                                     and _is_text(user.last_name) and _is_text(user.language_code)):
            raise ValueError("user")

    def file(item: Any) -> None:
        if not (_is_text(item.file_id, False) and (item.file_size is None or _is_int(item.file_size, 0, MAX_ID))):
            raise ValueError("file")

    if (query := update.callback_query) is not None:
        user(query.from_user)
        if not _is_text(query.id, False) or not _is_text(query.data):
            raise ValueError("callback_query")
        if query.message is not None:
            chat(query.message.chat)
            if not _is_int(query.message.message_id, 0, MAX_ID):
                raise ValueError("message_id")
    if (member := update.my_chat_member) is not None:
        chat(member.chat)
        if member.new_chat_member is None or not _is_text(member.new_chat_member.status, False):
            raise ValueError("new_chat_member")
    for message in (update.edited_message, update.message):
        if message is None:
            continue
        chat(message.chat)
        user(message.from_user)
        if not (_is_text(message.text) and _is_text(message.caption)):
            raise ValueError("text")
        for size in message.photo or ():
            file(size)
            if not (_is_int(size.width, 0, MAX_SIDE) and _is_int(size.height, 0, MAX_SIDE)):
                raise ValueError("photo size")
        if message.document is not None:
            file(message.document)
            if not (_is_text(message.document.mime_type) and _is_text(message.document.file_name)):
                raise ValueError("document")
        for sound in (message.voice, message.audio):
            if sound is not None:
                file(sound)
                if not (_is_text(sound.mime_type) and _is_text(getattr(sound, "file_name", None))):
                    raise ValueError("audio")
        place = message.venue.location if message.venue is not None else message.location
        if place is not None and not (_is_number(place.latitude, 90) and _is_number(place.longitude, 180)):
            raise ValueError("location")
        if message.venue is not None and not (_is_text(message.venue.title) and _is_text(message.venue.address)):
            raise ValueError("venue")
        if message.contact is not None and not (
                _is_text(message.contact.phone_number) and _is_text(message.contact.first_name)
                and _is_text(message.contact.last_name)):
            raise ValueError("contact")
        if not _is_text(message.media_group_id):
            raise ValueError("media_group_id")


def _text(text: str, common: dict[str, Any]) -> Inbound:
    """Commands arrive as "/ayuda" or "/ayuda@our_bot"; "/start <payload>" is a deep link."""
    if text.startswith("/"):
        command, _, argument = text.partition(" ")
        command = command.split("@", 1)[0]
        if command == "/start":
            meta = (("start", argument.strip()),) if argument.strip() else ()
            return Inbound(text="menu", meta=meta, **common)
        text = command
    return Inbound(text=text, **common)


def to_html(text: str) -> str:
    """Our texts mark bold as *this*; Telegram gets safe HTML so user-written `_` or `*` cannot break it."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


class _LoopThread:
    """One event loop per process, in a daemon thread, recreated after fork (gunicorn workers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._loop = asyncio.new_event_loop()
                self._pid = os.getpid()
                threading.Thread(target=self._loop.run_forever, name="telegram-loop", daemon=True).start()
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)


class TelegramSender:
    """Sends `Outbound` messages with PTB's `Bot`, created inside the loop thread on first use."""

    def __init__(self, token: str, api_base_url: str, load_document: Callable[[str], bytes] | None = None,
                 timeout: float = 10.0) -> None:
        """`timeout`: seconds to wait for the Bot API to answer one call; a slower one is retried later, since
        the dispatcher sends one message at a time and a hung call would hold every chat back."""
        self._token = token
        self._timeout = timeout
        self._load_document = load_document
        self._api = api_base_url.rstrip("/")
        self._loop = _LoopThread()
        self._bot: telegram.Bot | None = None
        self._bot_pid = 0
        self._downloads_lock = threading.Lock()
        self._download_client: httpx.Client | None = None

    def _get_bot(self) -> telegram.Bot:
        if self._bot is None or self._bot_pid != os.getpid():
            request = HTTPXRequest(connection_pool_size=16, connect_timeout=min(5.0, self._timeout),
                                   read_timeout=self._timeout)
            self._bot = telegram.Bot(self._token, base_url=f"{self._api}/bot",
                                     base_file_url=f"{self._api}/file/bot", request=request)
            self._bot_pid = os.getpid()
        return self._bot

    def call(self, coroutine_factory: Any) -> Any:
        """Run `coroutine_factory(bot)` on the loop thread, mapping PTB errors to `SendError`."""
        async def job() -> Any:
            return await coroutine_factory(self._get_bot())

        try:
            return self._loop.run(job(), max(SEND_TIMEOUT, 3 * self._timeout))
        except RetryAfter as error:
            retry = error.retry_after
            seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)
            raise SendError(f"telegram rate limit: retry after {seconds}s", retry_after=seconds) from error
        except TelegramForbidden as error:
            raise SendError(f"telegram forbidden: {error.message}", permanent=True) from error
        except TelegramBadRequest as error:
            permanent = "chat not found" in error.message.lower()
            raise SendError(f"telegram bad request: {error.message}", permanent=permanent) from error
        except MediaTooLarge:
            raise
        except (TelegramError, TimeoutError, OSError) as error:
            raise SendError(f"telegram network error: {error}") from error

    def send(self, recipient: Recipient, outbound: Outbound) -> SendResult:
        external_id = recipient.external_id
        if outbound.kind == "ack":
            return self._acknowledge(int(external_id), dict(outbound.control))
        last_id = None
        for attachment in outbound.attachments:
            last_id = self._send_document(int(external_id), attachment)
        if not outbound.text:
            return SendResult(provider_id=last_id)
        chunks = split_text(outbound.text, MAX_TEXT) or [""]
        markup = None
        if outbound.buttons:
            rows = [[InlineKeyboardButton(b.title, callback_data=_callback_data(b.payload))]
                    for b in outbound.buttons]
            markup = InlineKeyboardMarkup(rows)
        for index, chunk in enumerate(chunks):
            keyboard = markup if index == len(chunks) - 1 else None
            message = self.call(lambda bot, text=chunk, keyboard=keyboard: bot.send_message(
                chat_id=int(external_id), text=to_html(text), parse_mode=ParseMode.HTML,
                reply_markup=keyboard))
            last_id = f"{external_id}:{message.message_id}"
        return SendResult(provider_id=last_id)


    def _acknowledge(self, chat_id: int, control: dict[str, str]) -> SendResult:
        """Answer the button press (stops the client's spinner) and remove that keyboard so it cannot be
        pressed twice. A keyboard already gone is fine."""
        self.call(lambda bot: bot.answer_callback_query(control["callback_query_id"]))
        if "message_id" in control:
            try:
                self.call(lambda bot: bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=int(control["message_id"]), reply_markup=None))
            except SendError as error:
                if "not modified" not in str(error).lower() and "not found" not in str(error).lower():
                    raise
        return SendResult(provider_id=None)

    def _send_document(self, chat_id: int, attachment: Attachment) -> str:
        if self._load_document is None:
            raise SendError("no document store configured for Telegram attachments", permanent=True)
        content = self._load_document(attachment.ref)
        message = self.call(lambda bot: bot.send_document(
            chat_id=chat_id, document=content, filename=attachment.filename or "documento.pdf"))
        return f"{chat_id}:{message.message_id}"

    def fetch(self, ref: str, size_hint: int | None, max_bytes: int = MAX_DOWNLOAD) -> bytes:
        """Download a file the user sent: getFile, then the file URL, read until `max_bytes` and no further.

        The sizes Telegram reports (in the update, in getFile) refuse early, but they are only hints: a file
        reported as 100 bytes is still cut off at the limit, since what counts is what actually arrives.
        """
        limit = min(max_bytes, MAX_DOWNLOAD)  # the Bot API serves files up to 20 MB
        if size_hint and size_hint > limit:
            raise MediaTooLarge(f"telegram file of {size_hint} bytes")
        file = self.call(lambda bot: bot.get_file(ref))
        if file.file_size and file.file_size > limit:
            raise MediaTooLarge(f"telegram file of {file.file_size} bytes")
        url = str(file.file_path or "")
        if not url.startswith(f"{self._api}/file/"):  # the URL carries our token: only to the Bot API
            raise SendError("telegram file outside the Bot API", permanent=True)
        parts = urlsplit(url)
        try:
            return _read_limited(self._downloads(), urlunsplit(parts._replace(path=quote(parts.path))), limit,
                                 time.monotonic() + DOWNLOAD_SECONDS)
        except httpx.HTTPError as error:
            raise SendError(f"telegram download failed: {type(error).__name__}") from error

    def _downloads(self) -> httpx.Client:
        with self._downloads_lock:
            if self._download_client is None:
                self._download_client = httpx.Client(
                    timeout=httpx.Timeout(self._timeout, connect=min(5.0, self._timeout)), follow_redirects=False,
                    headers={"Accept-Encoding": "identity"})  # a compressed body could inflate past any limit
            return self._download_client

    def bot_call(self, factory: Any) -> Any:
        """For the CLI: run any Bot coroutine on the loop thread (set_webhook, get_updates…)."""
        return self.call(factory)


def _read_limited(client: httpx.Client, url: str, limit: int, deadline: float) -> bytes:
    """GET `url` and return its body, raising `MediaTooLarge` the moment more than `limit` bytes arrived
    (whatever Content-Length said), or `SendError` when the whole download outlasts `deadline`."""
    with client.stream("GET", url) as response:
        if response.status_code >= 400:
            raise SendError(f"telegram file answered {response.status_code}",
                            permanent=response.status_code in (400, 401, 403, 404))
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise MediaTooLarge(f"telegram file of {declared} bytes")
        content = bytearray()
        for block in response.iter_raw(65536):
            content += block
            if len(content) > limit:
                raise MediaTooLarge(f"telegram file over {limit} bytes")
            if time.monotonic() > deadline:
                raise SendError("telegram download too slow")
    return bytes(content)


def _callback_data(payload: str) -> str:
    encoded = payload.encode()
    if len(encoded) > MAX_CALLBACK_BYTES:
        raise ValueError(f"button payload longer than {MAX_CALLBACK_BYTES} bytes: {payload!r}")
    return payload
