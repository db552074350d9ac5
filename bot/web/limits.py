"""What one client may ask of us: web-chat rates per session and per address (Flask-Limiter), and the size of
the numbers it may put in URLs and forms, so that no number reaches the database as an overflow.

Limits live in Flask-Limiter's storage: `memory://` by default, which counts per process (each gunicorn
worker keeps its own counts); `RATE_LIMIT_STORAGE_URI` (e.g. `redis://…`) shares them. Provider webhooks are
authenticated and not limited here; staff logins have their own throttle.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, jsonify, request, session
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.routing import IntegerConverter

from bot.web import webchat
from bot.web.context import services_of
from locales import N_, match_locale, translate

MAX_DB_INT = 2**63 - 1  # the largest id PostgreSQL's bigint and SQLite's INTEGER hold
EXTENSION = "ptibot-limiter"
TOO_FAST = N_("You are sending messages very quickly. Please wait a moment and try again; "
              "nothing you already sent was lost.")


class BoundedInt(IntegerConverter):
    """`<int:…>` in a URL, up to the largest id the database holds: a bigger number is a 404, not an overflow."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Bound URL numbers and install the web-chat limits; call it before the blueprints are registered."""
    app.url_map.converters["int"] = BoundedInt
    settings = services_of(app).settings
    limiter = Limiter(_address, app=app, storage_uri=settings.rate_limit_storage_uri, strategy="moving-window",
                      headers_enabled=False, key_prefix="ptibot")
    app.extensions[EXTENSION] = limiter
    limited = [
        (settings.webchat_message_limit, _session_key, "messages", lambda: not (_posting() and _has_session())),
        (settings.webchat_address_limit, _address, "address", lambda: not _posting()),
        (settings.webchat_session_limit, _address, "new-sessions", lambda: not _posting() or _has_session()),
        (settings.webchat_upload_limit, _session_key, "uploads",
         lambda: not (_posting() and request.mimetype == "multipart/form-data")),
        (settings.webchat_poll_limit, _address, "polling", lambda: request.endpoint != "webchat.list_messages"),
    ]
    for rate, key, scope, exempt in limited:
        limiter.limit(rate, key_func=key, scope=scope, exempt_when=exempt)(webchat.bp)

    @app.errorhandler(RateLimitExceeded)
    def too_many(error: RateLimitExceeded) -> Any:
        current = limiter.current_limit
        wait = max(1, int(current.reset_at - time.time())) if current is not None else 60
        locale = match_locale(request.accept_languages.best, settings.default_locale)
        response = jsonify(error=translate(locale, TOO_FAST), retry_after=wait)
        response.headers["Retry-After"] = str(wait)
        return response, 429


def _address() -> str:
    return request.remote_addr or "unknown"


def _has_session() -> bool:
    """A request without a web-chat session opens one: it counts against new sessions per address, not yet
    against the session's own limits."""
    return webchat.SESSION_KEY in session


def _session_key() -> str:
    return f"session:{session.get(webchat.SESSION_KEY, '')}"


def _posting() -> bool:
    return request.endpoint == "webchat.post_message" and request.method == "POST"


def bounded_int(text: str | None, default: int = 0) -> int | None:
    """A whole number from a query or form field, within 0…MAX_DB_INT; None when it is anything else."""
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if value <= MAX_DB_INT else None
