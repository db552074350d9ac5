"""Staff login with rate limiting, logout, password change, and the first admin of a new installation."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for

from bot.core.clock import utcnow
from bot.web.context import services_of
from bot.web.inbox.blueprint import OPEN_ENDPOINTS, bp, csrf_token, staff_locale
from bot.wiring import Services
from locales import N_
from storage.staff import LoginThrottle, StaffRecord, StaffRepository

MIN_PASSWORD = 10


def load_staff() -> StaffRecord | None:
    staff_id = session.get("staff_id")
    if not isinstance(staff_id, int):
        return None
    services = services_of(current_app)
    with services.database.session_scope() as db:
        staff = StaffRepository(db).get(staff_id)
    if staff is None or not staff.active:
        session.pop("staff_id", None)
        return None
    return staff


def ensure_first_admin(services: Services, email: str = "admin@localhost") -> str | None:
    """Create an admin when there is no staff at all; returns its one-time password (printed once)."""
    with services.database.session_scope() as db:
        staff = StaffRepository(db)
        if staff.all():
            return None
        password = secrets.token_urlsafe(12)
        staff.create(email, password, "admin", utcnow(), name="Admin", must_change_password=True)
        return password


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    csrf_token()
    if request.method == "GET":
        return render_template("inbox/login.html")
    services = services_of(current_app)
    email = request.form.get("email", "").strip().lower()
    keys = [f"email:{email}", f"ip:{request.remote_addr}"]
    now = utcnow()
    with services.database.session_scope() as db:
        throttle = LoginThrottle(db)
        if throttle.blocked(keys, now):
            flash(N_("Too many failed attempts. Wait 15 minutes and try again."))
            return render_template("inbox/login.html"), 429
        staff = StaffRepository(db).authenticate(email, request.form.get("password", ""), now)
        if staff is None:
            throttle.fail(keys, now)
        else:
            throttle.clear([f"email:{email}"])
    if staff is None:
        flash(N_("Wrong email or password."))
        return render_template("inbox/login.html"), 401
    lang = session.get("inbox_lang")
    session.clear()  # a fresh session on login: no fixation
    session.update(staff_id=staff.id, inbox_lang=lang or "es", csrf=secrets.token_urlsafe(32))
    session.permanent = True
    target = request.args.get("next", "")
    if not target.startswith("/inbox") or urlsplit(target).netloc:
        target = url_for("inbox.conversations")
    return redirect(target)


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("inbox.login"))


@bp.route("/password", methods=["GET", "POST"])
def password() -> Any:
    if request.method == "POST":
        new = request.form.get("password", "")
        if len(new) < MIN_PASSWORD or new != request.form.get("confirm", ""):
            flash(N_("Use at least 10 characters and type the same password twice."))
            return render_template("inbox/password.html", locale=staff_locale()), 400
        services = services_of(current_app)
        with services.database.session_scope() as db:
            StaffRepository(db).set_password(g.staff.id, new)
        return redirect(url_for("inbox.conversations"))
    return render_template("inbox/password.html", locale=staff_locale())


@bp.before_request
def guard() -> Any:
    """Login for everything but the login page; a valid CSRF token on every POST, login included."""
    if request.args.get("lang") in ("en", "es"):
        session["inbox_lang"] = request.args["lang"]
    if request.method == "POST":
        sent = request.form.get("csrf_token", "") or request.headers.get("X-CSRF-Token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(400, "missing or wrong CSRF token")
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
