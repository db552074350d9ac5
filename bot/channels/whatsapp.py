"""WhatsApp through Twilio: verify signatures, parse form posts, send with the REST client, fetch media.

WhatsApp's rules live here: options become a numbered list ("Responde 1, 2 o 3"), texts are cut at
1,600 characters, and outside the 24-hour window a business-initiated message may only go as an
approved template; a kind with no template is held until the applicant writes again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import phonenumbers
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.core.errors import BadRequest, Forbidden, MediaTooLarge, SendError
from bot.core.messages import VCARD_TYPES, Attachment, Inbound, Location, Outbound, Recipient, SendResult
from bot.core.text import normalise, split_text
from locales import N_, translate

CHANNEL = "whatsapp"
MAX_TEXT = 1600
# The longest inbound text we keep: longer than any answer we ask for; the rest is cut (and flagged in `meta`).
MAX_INBOUND_TEXT = 4096
MAX_URL = 2048
MAX_DOWNLOAD = 16 * 1024 * 1024
DOWNLOAD_SECONDS = 120.0  # a whole download, so a server trickling bytes cannot hold a worker for ever
MAX_REDIRECTS = 3
API_VERSION = "2010-04-01"
# Twilio answers a media URL with a redirect to a short-lived signed URL on its media CDN: "secured media URL
# is mms.twiliocdn.com" (Twilio support, "Protect Media Access with HTTP Basic Authentication for Programmable
# Messaging", article 223183748). Nothing else is followed, and our credentials never go there.
MEDIA_REDIRECT_DOMAINS = ("twiliocdn.com",)
WINDOW = timedelta(hours=24)
OPT_OUT = frozenset({"baja", "stop", "alto", "cancelar suscripcion", "unsubscribe", "stopall", "end", "quit"})
OPT_IN = frozenset({"alta", "start", "unstop", "suscribir", "subscribe"})
# Messages we start ourselves; everything else answers the applicant within their own window.
BUSINESS_KINDS = frozenset({"status_update", "staff_reply", "document_request", "payment_reminder", "nudge"})
PERMANENT_CODES = {21211, 21610, 21614, 63003, 63024}  # invalid or unreachable number, user opted out at Twilio


def verify(auth_token: str | None, public_base_url: str | None, path_and_query: str,
           form: Mapping[str, str], signature: str | None) -> None:
    """Check `X-Twilio-Signature` against the public URL, so it holds behind a proxy; else `Forbidden`."""
    if not auth_token or not public_base_url or not signature:
        raise Forbidden("unsigned or unconfigured WhatsApp webhook")
    if not RequestValidator(auth_token).validate(public_base_url + path_and_query, dict(form), signature):
        raise Forbidden("bad Twilio signature")


def e164(number: str) -> str:
    """"whatsapp:+5215512345678" → "+525512345678" (Mexican mobiles dropped the extra 1 in 2019)."""
    bare = number.removeprefix("whatsapp:")
    try:
        parsed = phonenumbers.parse(bare, "MX")
    except phonenumbers.NumberParseException:
        return bare
    if parsed.country_code == 52 and str(parsed.national_number).startswith("1") and \
            len(str(parsed.national_number)) == 11:
        parsed.national_number = int(str(parsed.national_number)[1:])
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def parse_form(form: Mapping[str, str]) -> Inbound:
    """Turn Twilio's inbound form into an `Inbound`: text, quick-reply buttons, every media item."""
    sender, sid = form.get("From", ""), form.get("MessageSid") or form.get("SmsMessageSid")
    if not sender.startswith("whatsapp:") or not sid:
        raise BadRequest("not a WhatsApp message")
    body = form.get("Body", "").strip()
    meta: tuple[tuple[str, str], ...] = ()
    if len(body) > MAX_INBOUND_TEXT:  # WhatsApp allows 65,536 characters; a forged post, anything
        meta = (("truncated", str(len(body))),)
        body = body[:MAX_INBOUND_TEXT]
    try:
        count = min(int(form.get("NumMedia", "0") or 0), 10)
    except ValueError as error:
        raise BadRequest("NumMedia must be a number") from error
    common: dict[str, Any] = {"channel": CHANNEL, "contact_ref": sender.removeprefix("whatsapp:"),
                              "provider_id": sid[:64], "display_name": (form.get("ProfileName") or "")[:100] or None,
                              "phone": e164(sender), "meta": meta}
    media = [(form[f"MediaUrl{i}"], form.get(f"MediaContentType{i}", "").lower()[:100])
             for i in range(count) if 0 < len(form.get(f"MediaUrl{i}", "")) <= MAX_URL]
    message_type = form.get("MessageType", "").lower()
    files = tuple(Attachment(_file_kind(content_type), url, content_type or None) for url, content_type in media
                  if _media_kind(content_type, message_type) == "file")
    if files:  # photos, PDFs and contact cards: the turn runs once they are downloaded
        return Inbound(text=body, attachments=files, **common)
    kinds = {_media_kind(content_type, message_type) for _, content_type in media}
    if "audio" in kinds:  # a voice note: answered now, its file kept once downloaded
        return Inbound(kind="audio", text=body, attachments=tuple(
            Attachment("audio", url, content_type or None) for url, content_type in media
            if _media_kind(content_type, message_type) == "audio"), **common)
    if kinds:  # a sticker or a video: answered, never stored
        return Inbound(kind="video" if "video" in kinds else "sticker", text=body, **common)
    if form.get("ButtonPayload"):
        return Inbound(text=form.get("ButtonText", "")[:MAX_INBOUND_TEXT], payload=form["ButtonPayload"][:256],
                       **common)
    if form.get("Latitude") or form.get("Longitude") or message_type == "location":
        place = _location(form)
        return Inbound(kind="location", location=place, **common) if place else \
            Inbound(kind="unsupported", **common)
    if message_type == "reaction":  # an emoji on one of our messages: nothing to answer
        return Inbound(kind="reaction", text=body, **common)
    if not body:
        return Inbound(kind="unsupported", **common)
    said = normalise(body)
    if said in OPT_OUT:
        return Inbound(kind="opt_out", text=body, **common)
    if said in OPT_IN:
        return Inbound(kind="opt_in", text=body, **common)
    return Inbound(text=body, **common)


def _media_kind(content_type: str, message_type: str) -> str:
    """"file" for what the document steps or the contact reader take; "audio", "video" or "sticker" otherwise."""
    if content_type.startswith("audio/"):
        return "audio"
    if content_type.startswith("video/"):
        return "video"
    if content_type == "image/webp" or message_type == "sticker":  # WhatsApp stickers are WebP images
        return "sticker"
    return "file"


def _file_kind(content_type: str) -> str:
    if content_type in VCARD_TYPES:
        return "contact"
    return "image" if content_type.startswith("image/") else "document"


def _location(form: Mapping[str, str]) -> Location | None:
    """Twilio's `Latitude`/`Longitude` (with `Label` and `Address` for a named place), range-checked."""
    try:
        latitude, longitude = float(form.get("Latitude", "")), float(form.get("Longitude", ""))
    except ValueError:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # NaN fails both as well
        return None
    return Location(latitude, longitude, (form.get("Label") or "")[:200] or None,
                    (form.get("Address") or "")[:300] or None)


LIST_IN_WORDS = 4  # up to this many options the reply line names them ("Responde 1, 2, 3 o 4")


def numbered(outbound: Outbound, locale: str, command_words: Mapping[str, str]) -> str:
    """Buttons as a numbered list, since free-form WhatsApp messages have none; commands by their word.

    Args:
        command_words: the word that runs each global command (`human` → `asesor`), from the flows.
    """
    options = [b for b in outbound.buttons if not b.payload.startswith("cmd:")]
    commands = [b for b in outbound.buttons if b.payload.startswith("cmd:")]
    lines = [outbound.text]
    if options:
        lines.append("\n".join(f"{n}. {b.title}" for n, b in enumerate(options, 1)))
        numbers = [str(n) for n in range(1, len(options) + 1)]
        if len(numbers) > LIST_IN_WORDS:  # not "Responde 1, 2, 3, … 13 o 14"
            lines.append(translate(locale, N_("Reply with the number of your option.")))
        else:
            word_or = translate(locale, N_("or"))
            joined = numbers[0] if len(numbers) == 1 else f"{', '.join(numbers[:-1])} {word_or} {numbers[-1]}"
            lines.append(translate(locale, N_("Reply %(numbers)s"), numbers=joined))
    for button in commands:
        word = command_words.get(button.payload.removeprefix("cmd:"))
        if word:
            lines.append(translate(locale, N_("%(title)s: write *%(word)s*"), title=button.title, word=word))
    return "\n\n".join(lines)


class LoopbackHttpClient(TwilioHttpClient):
    """Sends the REST calls to `TWILIO_API_BASE_URL` (a loopback fake in tests) instead of api.twilio.com."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith("https://api.twilio.com"):
            url = self.base_url + url.removeprefix("https://api.twilio.com")
        return super().request(method, url, *args, **kwargs)


class WhatsAppSender:
    def __init__(self, account_sid: str, auth_token: str, sender: str, api_base_url: str, *,
                 status_callback: str | None, templates: Mapping[str, str],
                 media_url_for: Callable[[Attachment], str], command_words: Mapping[str, str] | None = None,
                 clock: Callable[[], datetime] | None = None, timeout: float = 10.0,
                 https_only: bool = False) -> None:
        """`https_only`: media only over https, even from the configured API origin (production)."""
        self.account_sid, self.auth_token, self.sender = account_sid, auth_token, sender
        self.https_only = https_only
        self.command_words = dict(command_words or {})
        self.api_base_url = api_base_url.rstrip("/")
        self.status_callback = status_callback
        self.templates = dict(templates)
        self.media_url_for = media_url_for
        self.clock = clock or (lambda: datetime.now(UTC))
        self.client = Client(account_sid, auth_token, http_client=LoopbackHttpClient(api_base_url, timeout))

    def send(self, recipient: Recipient, outbound: Outbound) -> SendResult:
        if outbound.kind == "ack":
            return SendResult()
        business = outbound.kind in BUSINESS_KINDS
        if business and recipient.opted_out:
            raise SendError("the applicant opted out of business-initiated messages", outcome="suppressed")
        last = recipient.last_inbound_at
        if business and (last is None or self.clock() - last > WINDOW):
            return self._template(recipient, outbound)
        target = f"whatsapp:{recipient.external_id}"
        sid = None
        for attachment in outbound.attachments:
            sid = self._create(to=target, media_url=[self.media_url_for(attachment)])
        text = numbered(outbound, recipient.locale, self.command_words)
        for chunk in split_text(text, MAX_TEXT) if text else []:
            sid = self._create(to=target, body=chunk)
        return SendResult(provider_id=sid)

    def _template(self, recipient: Recipient, outbound: Outbound) -> SendResult:
        content_sid = self.templates.get(outbound.kind)
        if not content_sid:
            # A nudge is only worth sending now; anything else waits until the applicant writes again.
            raise SendError(f"outside the 24-hour WhatsApp window and no template for {outbound.kind!r}",
                            outcome="suppressed" if outbound.kind == "nudge" else "held")
        variables = json.dumps({"1": outbound.text[:1000]}, ensure_ascii=False)  # a JSON *string*, always
        sid = self._create(to=f"whatsapp:{recipient.external_id}", content_sid=content_sid,
                           content_variables=variables)
        return SendResult(provider_id=sid)

    def _create(self, **fields: Any) -> str:
        if self.status_callback:
            fields["status_callback"] = self.status_callback
        try:
            message = self.client.messages.create(from_=self.sender, **fields)
        except TwilioRestException as error:
            if error.code == 63016:
                raise SendError("outside the 24-hour WhatsApp window", outcome="held") from error
            permanent = error.code in PERMANENT_CODES or (400 <= error.status < 500 and error.status != 429)
            raise SendError(f"twilio {error.status} code {error.code}", permanent=permanent) from error
        except requests.RequestException as error:
            raise SendError(f"twilio network error: {type(error).__name__}") from error
        return str(message.sid)

    def fetch(self, ref: str, size_hint: int | None, max_bytes: int = MAX_DOWNLOAD) -> bytes:
        """Download a media item: basic auth to the Twilio API, then Twilio's redirect to a signed URL.

        Only URLs of our own account on the configured API origin are fetched, and only they get our
        credentials; a redirect is followed only to Twilio's media hosts, without credentials. The body is read
        until `max_bytes` and no further, whatever its Content-Length says.
        """
        limit = min(max_bytes, MAX_DOWNLOAD)
        url = ref
        if url.startswith("https://api.twilio.com"):
            url = self.api_base_url + url.removeprefix("https://api.twilio.com")
        if not self._is_our_media(url):
            raise SendError("media URL outside our Twilio account", permanent=True)
        deadline = time.monotonic() + DOWNLOAD_SECONDS
        try:
            with requests.Session() as session:
                for _ in range(MAX_REDIRECTS + 1):
                    auth = (self.account_sid, self.auth_token) if self._is_our_media(url) else None
                    with session.get(url, auth=auth, timeout=(5, 30), stream=True, allow_redirects=False,
                                     headers={"Accept-Encoding": "identity"}) as response:
                        if response.is_redirect:
                            url = urljoin(url, response.headers.get("Location", ""))
                            if not self._is_media_host(url):
                                raise SendError("media redirected outside Twilio", permanent=True)
                            continue
                        if response.status_code in (401, 403, 404):
                            raise SendError(f"media answered {response.status_code}", permanent=True)
                        if response.status_code >= 400:
                            raise SendError(f"media answered {response.status_code}")
                        return _read_limited(response, limit, deadline)
        except requests.RequestException as error:
            raise SendError(f"media download failed: {type(error).__name__}") from error
        raise SendError("media redirected too many times", permanent=True)

    def _is_api(self, url: str) -> bool:
        """On the configured Twilio API origin (https only in production)."""
        parts, api = urlsplit(url), urlsplit(self.api_base_url)
        return (parts.scheme, parts.netloc) == (api.scheme, api.netloc) and not parts.username and \
            (parts.scheme == "https" or not self.https_only)

    def _is_our_media(self, url: str) -> bool:
        """A media URL of our own account on the API origin: the only URLs that get our credentials."""
        return self._is_api(url) and \
            urlsplit(url).path.startswith(f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/")

    def _is_media_host(self, url: str) -> bool:
        """Where Twilio may send us for the bytes: its own API origin, or its media CDN over https."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:  # "https://host:abc/"
            return False
        return self._is_api(url) or (
            parts.scheme == "https" and port in (None, 443) and not parts.username
            and any(host == suffix or host.endswith("." + suffix) for suffix in MEDIA_REDIRECT_DOMAINS))


def _read_limited(response: requests.Response, limit: int, deadline: float) -> bytes:
    """The body, raising `MediaTooLarge` the moment more than `limit` bytes arrived, or `SendError` when the
    download outlasts `deadline`. Raw bytes: a compressed body could inflate past any limit in one block."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise MediaTooLarge(f"whatsapp media of {declared} bytes")
    content = bytearray()
    for block in response.raw.stream(65536, decode_content=False):
        content += block
        if len(content) > limit:
            raise MediaTooLarge(f"whatsapp media over {limit} bytes")
        if time.monotonic() > deadline:
            raise SendError("media download too slow")
    return bytes(content)
