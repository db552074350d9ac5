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
from collections.abc import Coroutine
from typing import Any, TypeVar

import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest as TelegramBadRequest
from telegram.error import Forbidden as TelegramForbidden
from telegram.error import RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.errors import BadRequest, Forbidden, SendError
from bot.messages import Attachment, Inbound, Outbound, SendResult, split_text

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
SEND_TIMEOUT = 30.0
_BOLD = re.compile(r"\*([^*\n]+)\*")
T = TypeVar("T")


def verify(header_value: str | None, secret: str | None) -> None:
    """Constant-time check of `X-Telegram-Bot-Api-Secret-Token`; raises `Forbidden` on mismatch."""
    if not secret or not header_value or not hmac.compare_digest(header_value.encode(), secret.encode()):
        raise Forbidden("bad Telegram secret token")


def parse_update(data: Any) -> Inbound | None:
    """Turn an Update into an `Inbound`; None for updates the bot ignores (e.g. channel posts)."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise BadRequest("not a Telegram update")
    try:
        update = Update.de_json(data, None)
    except (KeyError, TypeError, ValueError) as error:
        raise BadRequest("malformed Telegram update") from error
    provider_id = str(update.update_id)
    if update.callback_query and update.callback_query.from_user:
        query = update.callback_query
        user = query.from_user
        chat_id = query.message.chat.id if query.message else user.id
        return Inbound(CHANNEL, str(chat_id), provider_id, payload=query.data or "",
                       locale_hint=user.language_code, display_name=user.full_name,
                       meta=(("callback_query_id", query.id),))
    message = update.message
    if message is None or message.from_user is None:
        return None
    user = message.from_user
    common: dict[str, Any] = {
        "channel": CHANNEL, "contact_ref": str(message.chat.id), "provider_id": provider_id,
        "locale_hint": user.language_code, "display_name": user.full_name,
    }
    if message.text:
        text = message.text
        if text.startswith("/start"):
            text = "menu"
        return Inbound(text=text, **common)
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return Inbound(text=message.caption or "", attachments=(Attachment(
            "image", largest.file_id, "image/jpeg", None, largest.file_size),), **common)
    if message.document:
        document = message.document
        return Inbound(text=message.caption or "", attachments=(Attachment(
            "document", document.file_id, document.mime_type, document.file_name, document.file_size),),
            **common)
    return Inbound(kind="unsupported", **common)


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

    def __init__(self, token: str, api_base_url: str) -> None:
        self._token = token
        self._api = api_base_url.rstrip("/")
        self._loop = _LoopThread()
        self._bot: telegram.Bot | None = None
        self._bot_pid = 0

    def _get_bot(self) -> telegram.Bot:
        if self._bot is None or self._bot_pid != os.getpid():
            request = HTTPXRequest(connection_pool_size=16, connect_timeout=5, read_timeout=20)
            self._bot = telegram.Bot(self._token, base_url=f"{self._api}/bot",
                                     base_file_url=f"{self._api}/file/bot", request=request)
            self._bot_pid = os.getpid()
        return self._bot

    def call(self, coroutine_factory: Any) -> Any:
        """Run `coroutine_factory(bot)` on the loop thread, mapping PTB errors to `SendError`."""
        async def job() -> Any:
            return await coroutine_factory(self._get_bot())

        try:
            return self._loop.run(job(), SEND_TIMEOUT)
        except RetryAfter as error:
            retry = error.retry_after
            seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)
            raise SendError(f"telegram rate limit: retry after {seconds}s", retry_after=seconds) from error
        except TelegramForbidden as error:
            raise SendError(f"telegram forbidden: {error.message}", permanent=True) from error
        except TelegramBadRequest as error:
            permanent = "chat not found" in error.message.lower()
            raise SendError(f"telegram bad request: {error.message}", permanent=permanent) from error
        except (TelegramError, TimeoutError, OSError) as error:
            raise SendError(f"telegram network error: {error}") from error

    def send(self, external_id: str, outbound: Outbound) -> SendResult:
        chunks = split_text(outbound.text, MAX_TEXT) or [""]
        markup = None
        if outbound.buttons:
            rows = [[InlineKeyboardButton(b.title, callback_data=_callback_data(b.payload))]
                    for b in outbound.buttons]
            markup = InlineKeyboardMarkup(rows)
        last_id = None
        for index, chunk in enumerate(chunks):
            keyboard = markup if index == len(chunks) - 1 else None
            message = self.call(lambda bot, text=chunk, keyboard=keyboard: bot.send_message(
                chat_id=int(external_id), text=to_html(text), parse_mode=ParseMode.HTML,
                reply_markup=keyboard))
            last_id = f"{external_id}:{message.message_id}"
        return SendResult(provider_id=last_id)


def _callback_data(payload: str) -> str:
    encoded = payload.encode()
    if len(encoded) > MAX_CALLBACK_BYTES:
        raise ValueError(f"button payload longer than {MAX_CALLBACK_BYTES} bytes: {payload!r}")
    return payload
