"""The web chat channel: the browser polls for replies, so "sending" only marks them delivered."""

from __future__ import annotations

from typing import Any

from bot.core.errors import BadRequest
from bot.core.messages import Inbound, Outbound, Recipient, SendResult

CHANNEL = "webchat"
MAX_TEXT = 4000


class InlineSender:
    """For channels whose replies travel in the HTTP answer or the terminal: nothing to send."""

    def send(self, recipient: Recipient, outbound: Outbound) -> SendResult:
        return SendResult(provider_id=None)


MAX_ID = 100


def client_id(value: Any) -> str | None:
    """The page's own id for a message (it makes a retry harmless): a short string or number, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadRequest("id must be a string")
    text = str(value)[:MAX_ID]
    if not is_clean(text) or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):  # PostgreSQL refuses NUL
        raise BadRequest("id must be plain text")
    return text


def is_clean(text: str) -> bool:
    """False for text no UTF-8 encoder accepts: lone surrogates that JSON escapes like "\\ud800" can carry."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


OPENED = "webchat_opened"  # the page was opened with no conversation yet: the bot greets first


def parse_message(session_id: str, body: Any, provider_id: str, locale_hint: str | None) -> Inbound:
    """Turn the JSON the page posts into an `Inbound`; reject anything else as a bad request.

    `{"start": true}` is the page opened on a new conversation: an event (no text on the applicant's behalf)
    whose provider id is fixed per browser, so the greeting runs once however often the page asks.
    """
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    if body.get("start") is True:
        return Inbound(channel=CHANNEL, contact_ref=session_id, provider_id=f"{session_id}:start", kind="event",
                       payload=OPENED, locale_hint=locale_hint)
    text = body.get("text", "")
    payload = body.get("payload")
    if not isinstance(text, str) or (payload is not None and not isinstance(payload, str)):
        raise BadRequest("text and payload must be strings")
    if not is_clean(text) or (payload is not None and not is_clean(payload)):
        raise BadRequest("text and payload must be plain text")
    if not text.strip() and not payload:
        raise BadRequest("send a text or a payload")
    return Inbound(channel=CHANNEL, contact_ref=session_id, provider_id=provider_id,
                   text=text.strip()[:MAX_TEXT], payload=payload or None, locale_hint=locale_hint)
