"""The inbox blueprint and what every inbox page shares: the staff language, CSRF tokens, security headers.

The login guard lives in `auth`; the pages register themselves on `bp` when the package imports them.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, request, session

from locales import translate

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
OPEN_ENDPOINTS = {"inbox.login"}


def staff_locale() -> str:
    return "en" if session.get("inbox_lang") == "en" else "es_MX"


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    locale = staff_locale() if request.path.startswith("/inbox") else "es_MX"
    return {"_": lambda msgid, **values: translate(locale, msgid, **values), "csrf_token": csrf_token,
            "staff_locale": locale}


@bp.after_request
def headers(response: Any) -> Any:
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response

