"""A loopback fake of the Telegram Bot API, so tests drive the *real* python-telegram-bot client.

Mocking `telegram.Bot` would skip PTB's request encoding and error mapping (RetryAfter, Forbidden, ...),
which is what the app relies on; this server speaks enough of the wire protocol to exercise both.
PTB 22.8 posts plain calls as application/x-www-form-urlencoded (non-string values JSON-encoded, e.g.
`reply_markup`) and uploads as multipart/form-data; both are decoded into `Call.params`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

# Fields PTB sends verbatim that must stay strings even when they look like JSON ("123", "true").
_STRING_FIELDS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "file_id", "url", "secret_token", "emoji",
    "inline_message_id", "business_connection_id", "message_effect_id", "ip_address", "title", "description",
})
_DESCRIPTIONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden: bot was blocked by the user",
                 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}
_TRUE_METHODS = frozenset({"answerCallbackQuery", "setWebhook", "deleteWebhook", "sendChatAction"})
_BOT_USER = {"id": 1, "is_bot": True, "first_name": "Fake Bot", "username": "fake_bot"}
_MAX_POLL_WAIT = 1.0
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part, kept whole so tests can assert on exactly what the app uploaded."""
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Call:
    """One request as received. `at` is `time.monotonic()` (for pacing checks); `status` is our answer,
    0 for a request held by `stall_next` and dropped without one."""
    method: str
    params: dict[str, Any]
    token: str
    at: float
    status: int = 200


def _decode_value(key: str, raw: str) -> Any:
    """Undo PTB's per-field JSON encoding (`chat_id=5` -> 5, reply_markup -> dict), keeping texts as str."""
    if key in _STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # e.g. "@channelname"


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode a urlencoded, JSON or multipart body into one params dict (file parts -> `UploadedFile`)."""
    if content_type.startswith("application/json"):
        return dict(json.loads(body or b"{}"))
    if not content_type.startswith("multipart/form-data"):
        return {key: _decode_value(key, value) for key, value in parse_qsl(body.decode(), keep_blank_values=True)}
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    params: dict[str, Any] = {}
    for part in message.walk():
        name = part.get_param("name", header="content-disposition")
        if part.is_multipart() or not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        filename = part.get_filename()
        params[name] = (UploadedFile(filename, part.get_content_type(), data) if filename is not None
                        else _decode_value(name, data.decode()))
    return params


def _error(status: int, description: str, retry_after: int | None = None) -> tuple[int, dict[str, Any]]:
    payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        payload["parameters"] = {"retry_after": retry_after}
    return status, payload


def _chat(chat_id: Any) -> dict[str, Any]:
    try:
        return {"id": int(chat_id), "type": "private"}
    except (TypeError, ValueError):  # "@channelusername"
        return {"id": -1001, "type": "channel", "username": str(chat_id).lstrip("@")}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTelegramAPI


class _Handler(BaseHTTPRequestHandler):
    """Routes `POST /bot<TOKEN>/<method>` and `GET /file/bot<TOKEN>/<path>` to the owning fake."""
    protocol_version = "HTTP/1.1"  # keep-alive like api.telegram.org; HTTP/1.0 would reconnect per call
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

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        prefix, _, method = unquote(urlsplit(self.path).path).rpartition("/")
        if prefix.startswith("/bot"):
            params = _parse_body(self.headers.get("Content-Type") or "", body)
            answer = self.server.fake._handle(prefix.removeprefix("/bot"), method, params)
            if answer is None:  # stalled: drop the connection without a word, as a hung upstream would
                self.close_connection = True
                return
            status, payload = answer
        else:
            status, payload = _error(404, "Not Found")
        self._reply(status, json.dumps(payload).encode())

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = unquote(urlsplit(self.path).path)  # PTB percent-encodes the token's ':' in file URLs
        token, _, file_path = path.removeprefix("/file/bot").partition("/")
        content = self.server.fake._file_bytes(token, file_path) if path.startswith("/file/bot") else None
        if content is None:
            self._reply(404, json.dumps(_error(404, "Not Found")[1]).encode())
            return
        # Chunked, without a Content-Length, so only the client's own count can stop it; `served` counts
        # what actually left (a client that stops reading makes the writes fail).
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for start in range(0, len(content), _CHUNK):
                block = content[start:start + _CHUNK]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                self.server.fake._count_served(file_path, len(block))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True


class FakeTelegramAPI:
    """In-process Telegram Bot API on 127.0.0.1 with call recording, fault injection and rate limiting."""

    def __init__(self, rate_limit_per_second: float | None = None, expected_token: str | None = None) -> None:
        self.rate_limit_per_second = rate_limit_per_second
        self.delay_seconds = 0.0
        self.expected_token = expected_token
        self.calls: list[Call] = []
        self.rejected_429 = 0
        self.url = ""
        self._cond = threading.Condition()  # guards all state below; notified on every call and update
        self._faults: defaultdict[str, deque[tuple[int, str, int | None]]] = defaultdict(deque)
        self._stalls: defaultdict[str, deque[float | None]] = defaultdict(deque)
        self._release = threading.Event()  # replaced by `release_stalls`; a held request waits on its own
        self.stalled = 0
        self._recent_sends: deque[float] = deque()
        self._message_ids: defaultdict[int, int] = defaultdict(int)
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self._reported_sizes: dict[str, int] = {}  # file_id -> the file_size getFile claims, when it lies
        self.served: defaultdict[str, int] = defaultdict(int)  # file_path -> bytes of it actually sent
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeTelegramAPI:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-telegram", daemon=True)
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

    def __enter__(self) -> FakeTelegramAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until `count` calls to `method` arrived (the app sends from its own loop thread)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls_to(method)) >= count, timeout):
                raise AssertionError(f"expected {count} call(s) to {method} within {timeout}s, got "
                                     f"{len(self.calls_to(method))}; all calls: {[c.method for c in self.calls]}")
            return self.calls_to(method)

    def clear(self) -> None:
        with self._cond:
            self.calls.clear()

    def fail_next(self, method: str, status: int = 500, times: int = 1, description: str | None = None,
                  retry_after: int | None = None) -> None:
        """Answer the next `times` calls to `method` with Telegram's error JSON; queued, consumed in order."""
        with self._cond:
            self._faults[method].extend([(status, description or _DESCRIPTIONS.get(status, "Error"),
                                          retry_after)] * times)

    def stall_next(self, method: str, times: int = 1, seconds: float | None = None) -> None:
        """Hold the next `times` calls to `method` without answering, then drop their connections unanswered.

        A provider slower than the client's timeout: the client must give up on its own and try again. The
        hold lasts `seconds`, or until `release_stalls()` (or `stop()`) when None, so a client without a
        timeout hangs visibly instead of being rescued by the fake. Nothing is delivered for a held call; it
        is recorded on arrival with status 0, and `stalled` counts them."""
        with self._cond:
            self._stalls[method].extend([seconds] * times)

    def release_stalls(self) -> None:
        """End every hold in progress (queued `stall_next` calls still stall when they arrive)."""
        with self._cond:
            released, self._release = self._release, threading.Event()
        released.set()

    def add_file(self, file_id: str, content: bytes, file_path: str | None = None,
                 reported_size: int | None = None) -> str:
        """Make `file_id` known to getFile and its bytes downloadable from /file/bot<TOKEN>/<file_path>.

        `reported_size`: the `file_size` getFile answers instead of the real one (a file that lies). Returns
        the file path, the key of `served`."""
        path = file_path or f"documents/{file_id}.bin"
        with self._cond:
            self._files[file_id] = (path, content)
            if reported_size is not None:
                self._reported_sizes[file_id] = reported_size
        return path

    def _count_served(self, file_path: str, size: int) -> None:
        with self._cond:
            self.served[file_path] += size

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an Update for getUpdates (`update_id` assigned when missing) and wake any long poll."""
        with self._cond:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
            self._updates.append(update)
            self._cond.notify_all()
            return update

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._cond:
            (self._connections.add if add else self._connections.discard)(connection)

    def _file_bytes(self, token: str, file_path: str) -> bytes | None:
        with self._cond:
            if self.expected_token not in (None, token):
                return None
            return next((data for path, data in self._files.values() if path == file_path), None)

    def _handle(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """Answer first, then record the call with its status so tests also see rejected attempts.

        None: the call was stalled (see `stall_next`) and must be dropped unanswered."""
        if self.delay_seconds:
            time.sleep(self.delay_seconds)  # a slow provider, so a test can kill a worker mid-burst
        with self._cond:
            if self._stalls[method]:
                hold, released = self._stalls[method].popleft(), self._release
                self.stalled += 1
                self.calls.append(Call(method, params, token, time.monotonic(), 0))
                self._cond.notify_all()
            else:
                hold = released = None
        if released is not None:
            released.wait(hold)
            return None
        with self._cond:
            status, payload = self._answer(token, method, params)
            self.calls.append(Call(method, params, token, time.monotonic(), status))
            self._cond.notify_all()
        return status, payload

    def _answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.expected_token not in (None, token):
            return _error(401, "Unauthorized")
        if self._faults[method]:
            return _error(*self._faults[method].popleft())
        if method == "sendMessage" and self.rate_limit_per_second is not None:
            now = time.monotonic()
            while self._recent_sends and now - self._recent_sends[0] >= 1.0:
                self._recent_sends.popleft()
            if len(self._recent_sends) >= self.rate_limit_per_second:
                self.rejected_429 += 1
                return _error(429, "Too Many Requests: retry after 1", 1)
            self._recent_sends.append(now)
        result = self._poll(params) if method == "getUpdates" else self._result(method, params)
        return (200, {"ok": True, "result": result}) if result is not None else _error(404, "Not Found")

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method in _TRUE_METHODS:
            return True
        if method == "getMe":
            return dict(_BOT_USER)
        if method == "getFile":
            file_id = str(params.get("file_id"))
            if file_id not in self._files:
                return None  # Telegram: 400 "Bad Request: invalid file_id"; a 404 is close enough here
            path, data = self._files[file_id]
            return {"file_id": file_id, "file_unique_id": f"u{file_id}",
                    "file_size": self._reported_sizes.get(file_id, len(data)), "file_path": path}
        chat = _chat(params.get("chat_id"))
        if method in ("editMessageText", "editMessageReplyMarkup"):
            if "chat_id" not in params:
                return True  # inline messages are answered with `true`
            message_id = int(params["message_id"])
        elif method in ("sendMessage", "sendDocument", "sendPhoto"):
            self._message_ids[chat["id"]] += 1
            message_id = self._message_ids[chat["id"]]
        else:
            return None
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": dict(_BOT_USER)}
        message.update({key: params[key] for key in ("text", "caption", "reply_markup") if key in params})
        upload = params.get("document") or params.get("photo")
        if isinstance(upload, UploadedFile):
            file_id = f"file{len(self._files) + 1}"
            self._files[file_id] = (f"documents/{file_id}.bin", upload.data)
            described = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(upload.data)}
            if method == "sendDocument":
                message["document"] = {**described, "file_name": upload.filename, "mime_type": upload.content_type}
            else:
                message["photo"] = [{**described, "width": 1, "height": 1}]
        return message

    def _poll(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long-poll like Telegram (an offset confirms older updates), but never longer than a second.

        Runs under `_cond`; `wait_for` releases it fully (RLock), so other calls proceed meanwhile."""
        offset = int(params.get("offset") or 0)
        self._updates = [update for update in self._updates if update["update_id"] >= offset]
        self._cond.wait_for(lambda: bool(self._updates), min(float(params.get("timeout") or 0), _MAX_POLL_WAIT))
        return self._updates[: int(params.get("limit") or 100)]
