"""The inbox blueprint and what every inbox page shares: the staff language, CSRF tokens, security headers.

The login guard lives in `auth`; the pages register themselves on `bp` when the package imports them.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, current_app, request, session

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
            "staff_locale": locale, "constants_expiring": constants_expiring}


#: From how many days before a dated IMSS value expires the inbox warns admins (issue 15).
CONSTANTS_BANNER_DAYS = 30


def constants_expiring() -> str:
    """The dated IMSS values that expire within 30 days with no next entry, as names for the admin banner
    (empty when none). Called from the template only for admins; today is read in BUSINESS_TIMEZONE."""
    from zoneinfo import ZoneInfo

    from bot.core.clock import utcnow
    from bot.web.context import services_of
    from flows.rules.imss import expiring, today_in

    clock = current_app.config.get("PTIBOT_CLOCK", utcnow)  # tests pin the date here
    today = today_in(clock(), ZoneInfo(services_of(current_app).settings.business_timezone))
    return ", ".join(f"{entry.name} ({entry.valid_until.isoformat()})"
                     for entry in expiring(today, CONSTANTS_BANNER_DAYS))


@bp.after_request
def headers(response: Any) -> Any:
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response

