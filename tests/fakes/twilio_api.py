"""A loopback fake of the Twilio REST API, so tests drive the *real* `twilio` 9.13 client and media downloads.

Mocking `twilio.rest.Client` would skip the client's form encoding (repeated `MediaUrl`, `ContentVariables`
sent as given: a dict silently becomes its keys) and its error mapping, which the app relies on. Point the
client here with a `TwilioHttpClient` subclass that rewrites `https://api.twilio.com` to `url` (DESIGN §8).

Errors use Twilio's legacy JSON (`code`, `message`, `more_info`, `status`; never `type`+`title`, which would
make the client raise `TwilioServiceException` instead). Checked with twilio 9.13: every non-2xx answer to
`client.messages.create(...)` raises `twilio.base.exceptions.TwilioRestException` with `.status` = HTTP status
(int), `.code` = the JSON `code` (int, e.g. 20429, 63016, 21211, 20003), `.msg` = "Unable to create record:
<message>", `.method` = "POST", `.uri` = "/Accounts/<sid>/Messages.json". A 429 carries no retry-after.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "2010-04-01"
DEFAULT_WHATSAPP_FROM = "whatsapp:+14155238886"  # the Twilio sandbox sender
OUTSIDE_WINDOW_MESSAGE = ("Failed to send freeform message because you are outside the allowed window. "
                          "If you are using WhatsApp, please use a Message Template.")
# Default (status, message) per Twilio error code, so `fail_next(code=63016)` reads like the real answer.
_CODES: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"), 20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"), 20500: (500, "Internal Server Error"),
    21211: (400, "Invalid 'To' Phone Number"), 21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21619: (400, "A text message body or media urls must be specified."),
    21656: (400, "The ContentVariables Parameter is invalid."),
    21910: (400, "Invalid From and To pair. From and To should be of the same channel"),
    63016: (400, OUTSIDE_WINDOW_MESSAGE),
}
_CODE_FOR_STATUS = {400: 21211, 401: 20003, 404: 20404, 429: 20429, 500: 20500}
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Call:
    """One request as received; `params` keeps repeated keys (MediaUrl). `at` is `time.monotonic()`;
    `status` is our answer, 0 for a request held by `stall_next` and dropped without one; `authorization` the
    Authorization header it carried (whose credentials went where)."""
    method: str
    path: str
    params: dict[str, list[str]]
    at: float
    status: int
    authorization: str | None = None


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False  # no Content-Length: only the client's own count can stop reading


def _error(status: int, code: int, message: str | None = None) -> _Response:
    payload = {"code": code, "message": message or _CODES.get(code, (status, "Error"))[1],
               "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else {}
    return _Response(status, json.dumps(payload).encode(), headers=headers)


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _whatsapp(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTwilioAPI


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the owning fake; only HTTP framing lives here."""
    protocol_version = "HTTP/1.1"  # keep-alive like api.twilio.com; HTTP/1.0 would reconnect per call
    disable_nagle_algorithm = True  # otherwise each small response waits ~45 ms for a delayed ACK
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, add=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request stderr lines; the recorded `calls` are the log."""

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        params = parse_qs(parts.query, keep_blank_values=True)
        for key, values in parse_qs(body.decode(), keep_blank_values=True).items():
            params.setdefault(key, []).extend(values)
        answer = self.server.fake._handle(self.command, parts.path, params, self.headers.get("Authorization"))
        if answer is None:  # stalled: drop the connection without a word, as a hung upstream would
            self.close_connection = True
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        if answer.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not answer.chunked:
            self.wfile.write(answer.body)
            return
        try:  # `served` counts what actually left: a client that stops reading makes the writes fail
            for start in range(0, len(answer.body), _CHUNK):
                block = answer.body[start:start + _CHUNK]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                self.server.fake._count_served(parts.path, len(block))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    do_GET = do_POST = _serve  # stdlib dispatch by name; `self.command` tells them apart


class FakeTwilioAPI:
    """In-process Twilio REST API on 127.0.0.1: Messages.json, media with basic auth + signed redirect."""

    def __init__(self, account_sid: str = "AC" + "0123456789abcdef" * 2, auth_token: str = "fedcba9876543210" * 2,
                 rate_limit_per_second: float | None = None) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.rate_limit_per_second = rate_limit_per_second
        self.calls: list[Call] = []
        self.rejected_429 = 0
        self.url = ""
        self._cond = threading.Condition()  # guards all state below; notified on every call
        self._faults: deque[_Response] = deque()
        self._stalls: deque[float | None] = deque()
        self._release = threading.Event()  # replaced by `release_stalls`; a held request waits on its own
        self.stalled = 0
        self._recent_sends: deque[float] = deque()
        self._sent: list[dict[str, Any]] = []  # successful sends, as returned by `messages()`
        self._resources: dict[str, dict[str, Any]] = {}  # sid -> Message resource JSON
        self._media: dict[str, tuple[str, bytes]] = {}  # media URL path -> (content type, bytes)
        self._signed: dict[str, tuple[str, bytes]] = {}  # signed token -> (content type, bytes)
        self._redirects: dict[str, str] = {}  # media URL path -> where its 307 points instead of /signed/
        self.served: dict[str, int] = {}  # path -> bytes of its body actually sent (signed media)
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def messages_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def start(self) -> FakeTwilioAPI:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-twilio", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut kept-alive connections, so no handler thread outlives the fake."""
        if self._server is None:
            return
        self.release_stalls()  # a held handler would otherwise keep its thread until its hold ends
        self._server.shutdown()
        with self._cond:
            for connection in list(self._connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeTwilioAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def calls_to(self, path_suffix: str) -> list[Call]:
        with self._cond:
            return [call for call in self.calls if call.path.endswith(path_suffix)]

    def messages(self) -> list[dict[str, Any]]:
        """Accepted sends in order: form fields with single values, plus `sid` and `media_urls` (a list)."""
        with self._cond:
            return [dict(message) for message in self._sent]

    def wait_for_messages(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until `count` sends were accepted (the worker sends from its own thread)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._sent) >= count, timeout):
                raise AssertionError(f"expected {count} message(s) within {timeout}s, got {len(self._sent)}; "
                                     f"all calls: {[(c.method, c.path, c.status) for c in self.calls]}")
            return self.messages()

    def clear(self) -> None:
        with self._cond:
            self.calls.clear()
            self._sent.clear()

    def fail_next(self, status: int | None = None, code: int | None = None, message: str | None = None,
                  times: int = 1) -> None:
        """Answer the next `times` Messages.json POSTs with Twilio's error JSON (after auth, in order).

        Either argument implies the other: `fail_next(code=63016)` is a 400, `fail_next(429)` is code 20429.
        Real Twilio usually reports 63016 asynchronously (201, then a failed status callback); both paths
        deserve a test, the second via `status_callback_payload(sid, "failed", 63016)`."""
        status = status or _CODES.get(code or 0, (500, ""))[0]
        code = code or _CODE_FOR_STATUS.get(status, status)
        with self._cond:
            self._faults.extend([_error(status, code, message)] * times)

    def stall_next(self, times: int = 1, seconds: float | None = None) -> None:
        """Hold the next `times` Messages.json POSTs without answering, then drop their connections unanswered.

        A provider slower than the client's timeout: the client must give up on its own and try again. The
        hold lasts `seconds`, or until `release_stalls()` (or `stop()`) when None, so a client without a
        timeout hangs visibly instead of being rescued by the fake. Nothing is sent for a held call; it is
        recorded on arrival with status 0, and `stalled` counts them."""
        with self._cond:
            self._stalls.extend([seconds] * times)

    def release_stalls(self) -> None:
        """End every hold in progress (queued `stall_next` calls still stall when they arrive)."""
        with self._cond:
            released, self._release = self._release, threading.Event()
        released.set()

    def add_media(self, content: bytes, content_type: str, message_sid: str | None = None,
                  redirect_to: str | None = None) -> str:
        """Register inbound media; returns its URL as a webhook's `MediaUrl{N}` would give it.

        Pass the same `message_sid` ("MM...") for several media of one message. The media URL answers 307 to
        a signed URL here, served chunked (no Content-Length), or to `redirect_to` when given."""
        if not self.url:
            raise RuntimeError("start the fake before adding media: the URL embeds its port")
        path = (f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message_sid or 'MM' + secrets.token_hex(16)}"
                f"/Media/ME{secrets.token_hex(16)}")
        with self._cond:
            self._media[path] = (content_type, content)
            if redirect_to is not None:
                self._redirects[path] = redirect_to
        return self.url + path

    def hits(self) -> list[Call]:
        """Every request this server received, media and signed URLs included."""
        with self._cond:
            return list(self.calls)

    def _count_served(self, path: str, size: int) -> None:
        with self._cond:
            self.served[path] = self.served.get(path, 0) + size

    def status_callback_payload(self, message_sid: str, status: str, error_code: int | None = None
                                ) -> dict[str, str]:
        """Form fields Twilio posts to a WhatsApp StatusCallback; From/To come from the send with that sid.

        Tests must sign them like inbound webhooks (see `inbound_payload`)."""
        with self._cond:
            sent = self._resources.get(message_sid, {})
        to = sent.get("to") or "whatsapp:+5215512345678"
        payload = {"AccountSid": self.account_sid, "ApiVersion": API_VERSION, "ChannelPrefix": "whatsapp",
                   "ChannelInstallSid": "XE" + "0" * 32, "ChannelToAddress": to.removeprefix("whatsapp:"),
                   "From": sent.get("from") or DEFAULT_WHATSAPP_FROM, "To": to, "MessageSid": message_sid,
                   "MessageStatus": status, "SmsSid": message_sid, "SmsStatus": status, "StructuredMessage": "false"}
        if status in ("delivered", "read"):
            payload["EventType"] = status.upper()
        if error_code is not None:
            payload["ErrorCode"] = str(error_code)
        return payload

    def inbound_payload(self, from_number: str, body: str, *, message_sid: str | None = None,
                        profile_name: str = "Ana", media: Sequence[tuple[str, str]] = (),
                        button_payload: str | None = None, button_text: str | None = None,
                        latitude: float | None = None, longitude: float | None = None,
                        to: str = DEFAULT_WHATSAPP_FROM) -> dict[str, str]:
        """Form fields of a WhatsApp inbound webhook as Twilio posts them (`media`: (url, content type) pairs).

        Tests must post them signed: header `X-Twilio-Signature` =
        `twilio.request_validator.RequestValidator(auth_token).compute_signature(url, params)`, where `url` is
        the public URL the app validates against (PUBLIC_BASE_URL + path). A media message's sid is the "MM"
        sid in its first media URL, as in Twilio; otherwise "SM" + 32 hex."""
        if message_sid is None and media and "/Messages/MM" in media[0][0]:
            message_sid = media[0][0].split("/Messages/")[1].split("/")[0]
        sid = message_sid or "SM" + secrets.token_hex(16)
        sender = _whatsapp(from_number)
        major = media[0][1].split("/")[0] if media else "text"
        kind = ("button" if button_payload is not None or button_text is not None else
                "location" if latitude is not None else major if major in ("text", "image", "video", "audio")
                else "document")
        payload = {"SmsMessageSid": sid, "NumMedia": str(len(media)), "ProfileName": profile_name,
                   "MessageType": kind, "SmsSid": sid, "WaId": "".join(ch for ch in sender if ch.isdigit()),
                   "SmsStatus": "received", "Body": body, "To": _whatsapp(to), "NumSegments": "1",
                   "ReferralNumMedia": "0", "MessageSid": sid, "AccountSid": self.account_sid, "From": sender,
                   "ApiVersion": API_VERSION}
        for index, (url, content_type) in enumerate(media):
            payload[f"MediaUrl{index}"], payload[f"MediaContentType{index}"] = url, content_type
        optional = {"ButtonPayload": button_payload, "ButtonText": button_text, "Latitude": latitude,
                    "Longitude": longitude}
        payload.update({key: str(value) for key, value in optional.items() if value is not None})
        return payload

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._cond:
            (self._connections.add if add else self._connections.discard)(connection)

    def _handle(self, method: str, path: str, params: dict[str, list[str]], authorization: str | None
                ) -> _Response | None:
        """Answer first, then record the call with its status so tests also see rejected attempts.

        None: the call was stalled (see `stall_next`) and must be dropped unanswered."""
        with self._cond:
            stall = method == "POST" and path == self.messages_path and bool(self._stalls)
            if stall:
                hold, released = self._stalls.popleft(), self._release
                self.stalled += 1
                self.calls.append(Call(method, path, params, time.monotonic(), 0))
                self._cond.notify_all()
        if stall:
            released.wait(hold)
            return None
        with self._cond:
            answer = self._answer(method, path, params, authorization)
            self.calls.append(Call(method, path, params, time.monotonic(), answer.status, authorization))
            self._cond.notify_all()
        return answer

    def _answer(self, method: str, path: str, params: dict[str, list[str]], authorization: str | None
                ) -> _Response:
        if method == "GET" and path.startswith("/signed/"):  # like a pre-signed S3 URL: the token is the key
            found = self._signed.get(path.removeprefix("/signed/"))
            return _Response(200, found[1], found[0], chunked=True) if found else _error(404, 20404)
        if not path.startswith(f"/{API_VERSION}/Accounts/"):
            return _error(404, 20404)
        if _basic_auth(authorization) != (self.account_sid, self.auth_token):
            return _error(401, 20003)
        if method == "POST" and path == self.messages_path:
            return self._create_message(params)
        if method == "GET" and path in self._redirects:
            return _Response(307, headers={"Location": self._redirects[path]})
        if method == "GET" and path in self._media:
            token = secrets.token_urlsafe(24)
            self._signed[token] = self._media[path]
            return _Response(307, headers={"Location": f"{self.url}/signed/{token}"})
        sid = path.removeprefix(self.messages_path.removesuffix(".json") + "/").removesuffix(".json")
        if method == "GET" and sid in self._resources:  # client.messages(sid).fetch()
            return _Response(200, json.dumps(self._resources[sid]).encode())
        return _error(404, 20404)

    def _create_message(self, params: dict[str, list[str]]) -> _Response:
        if self._faults:
            return self._faults.popleft()
        if self.rate_limit_per_second is not None:
            now = time.monotonic()
            while self._recent_sends and now - self._recent_sends[0] >= 1.0:
                self._recent_sends.popleft()
            if len(self._recent_sends) >= self.rate_limit_per_second:
                self.rejected_429 += 1
                return _error(429, 20429)
            self._recent_sends.append(now)
        fields = {key: values[0] for key, values in params.items()}
        to, sender, media = fields.get("To", ""), fields.get("From", ""), params.get("MediaUrl", [])
        if not to:
            return _error(400, 21604)
        if not sender and "MessagingServiceSid" not in fields:
            return _error(400, 21603)
        if not (fields.get("Body") or media or fields.get("ContentSid")):
            return _error(400, 21619)
        if sender and to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
            return _error(400, 21910)
        if "ContentVariables" in fields and not _is_json_object(fields["ContentVariables"]):
            return _error(400, 21656)  # a dict given to the client arrives as its first key, e.g. "1"
        sid = "SM" + secrets.token_hex(16)
        now_rfc2822 = format_datetime(datetime.now(UTC))
        uri = f"{self.messages_path.removesuffix('.json')}/{sid}"
        resource = {"account_sid": self.account_sid, "api_version": API_VERSION, "body": fields.get("Body", ""),
                    "date_created": now_rfc2822, "date_sent": None, "date_updated": now_rfc2822,
                    "direction": "outbound-api", "error_code": None, "error_message": None, "from": sender or None,
                    "messaging_service_sid": fields.get("MessagingServiceSid"), "num_media": str(len(media)),
                    "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
                    "subresource_uris": {"media": f"{uri}/Media.json"}, "to": to, "uri": f"{uri}.json"}
        self._resources[sid] = resource
        self._sent.append({**fields, "sid": sid, "media_urls": list(media)})
        return _Response(201, json.dumps(resource).encode())
