"""A loopback fake of the Stripe API's Checkout Sessions, so tests drive the *real* `stripe` library.

Point `stripe.StripeClient(key, base_addresses={"api": fake.url})` here (STRIPE_API_BASE_URL). It answers
`POST /v1/checkout/sessions` (form-encoded, as the library sends it, with `Idempotency-Key`) with a session
object, and `GET /v1/checkout/sessions/<id>`; the same idempotency key returns the same session, as Stripe does.
`event(...)` builds the event JSON a webhook receives and `sign(...)` its `Stripe-Signature` header, computed as
Stripe documents it (HMAC-SHA256 of "<timestamp>.<payload>" with the endpoint secret, scheme v1).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


class FakeStripeAPI:
    def __init__(self, expected_key: str = "sk_test_fake") -> None:
        self.expected_key = expected_key
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_idempotency: dict[str, str] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(6))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {fake.expected_key}":
                    self._answer(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
                    return False
                return True

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                params = dict(parse_qsl(self.rfile.read(length).decode()))
                fake.requests.append(("POST", self.path, params))
                if not self._authorised():
                    return
                if self.path != "/v1/checkout/sessions":
                    self._answer(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL"}})
                    return
                key = self.headers.get("Idempotency-Key") or secrets.token_hex(8)
                with fake._lock:
                    if key in fake.by_idempotency:
                        self._answer(200, fake.sessions[fake.by_idempotency[key]])
                        return
                    session_id = "cs_test_" + secrets.token_hex(12)
                    session = {
                        "id": session_id, "object": "checkout.session", "mode": params.get("mode", "payment"),
                        "url": f"https://checkout.stripe.test/c/pay/{session_id}", "status": "open",
                        "payment_status": "unpaid", "client_reference_id": params.get("client_reference_id"),
                        "amount_total": int(params.get("line_items[0][price_data][unit_amount]", 0)),
                        "currency": params.get("line_items[0][price_data][currency]", "mxn"),
                        "payment_method_types": [v for k, v in sorted(params.items())
                                                 if k.startswith("payment_method_types")],
                        "metadata": {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")},
                        "payment_intent": None, "expires_at": int(time.time()) + 86400,
                    }
                    fake.sessions[session_id] = session
                    fake.by_idempotency[key] = session_id
                self._answer(200, session)

            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append(("GET", self.path, {}))
                if not self._authorised():
                    return
                session = fake.sessions.get(self.path.rsplit("/", 1)[-1])
                if session is None:
                    self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such session"}})
                    return
                self._answer(200, session)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeStripeAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def event(self, kind: str, session_id: str, *, event_id: str | None = None, payment_status: str = "paid"
              ) -> bytes:
        """The JSON of a Checkout event about one of our sessions, as Stripe posts it."""
        session = {**self.sessions[session_id], "payment_status": payment_status,
                   "status": "expired" if kind.endswith("expired") else "complete",
                   "payment_intent": "pi_" + session_id[8:]}
        body = {"id": event_id or "evt_" + secrets.token_hex(12), "object": "event", "type": kind,
                "api_version": "2025-01-27.acacia", "created": int(time.time()), "livemode": False,
                "data": {"object": session}}
        return json.dumps(body).encode()


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header for `payload`."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"
