"""The staff agent inbox: login, conversations, cases, documents and admin pages under /inbox.

Everything here needs a logged-in staff member, and every form carries a CSRF token; what applicants
wrote is only ever rendered through Jinja's autoescaping.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, abort, g, redirect, request, session, url_for

from locales import translate

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
OPEN_ENDPOINTS = {"inbox.login"}


def staff_locale() -> str:
    return "en" if session.get("inbox_lang") == "en" else "es_MX"


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


@bp.before_request
def guard() -> Any:
    """Login for everything but the login page; a valid CSRF token on every POST, login included."""
    if request.args.get("lang") in ("en", "es"):
        session["inbox_lang"] = request.args["lang"]
    if request.method == "POST":
        sent = request.form.get("csrf_token", "") or request.headers.get("X-CSRF-Token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(400, "missing or wrong CSRF token")
    from bot.web.inbox.auth import load_staff

    g.staff = load_staff()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if g.staff is None:
        if request.method == "GET" and not request.path.startswith("/inbox/documents/"):
            return redirect(url_for("inbox.login", next=request.full_path))
        abort(401)
    if g.staff.must_change_password and request.endpoint not in ("inbox.password", "inbox.logout"):
        return redirect(url_for("inbox.password"))
    return None


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


from bot.web.inbox import actions, admin, auth, views  # noqa: E402,F401  (routes register on import)
