"""Staff login with throttling, server-side sessions, logout, password change, and the first admin.

The Flask cookie carries only a random session id (`sid`); the session itself lives in the database, so
logout, a new password, a role change, disabling the account or an admin can end it, and the idle and
absolute timeouts hold whatever the browser keeps. Cookies from before server-side sessions carry no `sid`
and simply ask for a new login.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for

from bot.core.clock import utcnow
from bot.web.context import services_of
from bot.web.inbox.blueprint import OPEN_ENDPOINTS, bp, csrf_token, staff_locale
from bot.wiring import Services
from locales import N_
from storage.db import Session
from storage.staff import AuditRepository, LiveSession, LoginThrottle, StaffRepository, StaffSessions

MIN_PASSWORD = 10
SESSION_KEY = "sid"
# The requests an open page makes by itself every few seconds: they need a valid session but do not keep it
# alive, or a tab left open would never reach the idle timeout.
BACKGROUND_ENDPOINTS = {"inbox.poll"}
# What a read-only account (a manager) may still POST: its own session and password, nothing about applicants.
READ_ONLY_ALLOWED = {"inbox.logout", "inbox.password"}


def staff_sessions(db: Session) -> StaffSessions:
    """The session table with this installation's key and timeouts."""
    settings = services_of(current_app).settings
    return StaffSessions(db, settings.secret_key, idle=timedelta(minutes=settings.staff_session_idle_minutes),
                         lifetime=timedelta(hours=settings.staff_session_max_hours))


def login_throttle(db: Session) -> LoginThrottle:
    return LoginThrottle(db, services_of(current_app).settings.secret_key)


def load_session() -> LiveSession | None:
    """The valid server-side session named by the cookie, or None (and the dead id leaves the cookie)."""
    session.pop("staff_id", None)  # the cookie of before server-side sessions: it no longer logs anyone in
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        return None
    with services_of(current_app).database.session_scope() as db:
        live = staff_sessions(db).resume(token, utcnow(), activity=not _background())
    if live is None:
        session.pop(SESSION_KEY, None)
    return live


def _background() -> bool:
    return request.endpoint in BACKGROUND_ENDPOINTS or (
        request.endpoint == "inbox.conversations" and bool(request.args.get("partial")))


def ensure_first_admin(services: Services, email: str = "admin@localhost") -> str | None:
    """Create an admin when there is no staff at all; returns its one-time password (printed once)."""
    with services.database.session_scope() as db:
        staff = StaffRepository(db)
        if staff.all():
            return None
        password = secrets.token_urlsafe(12)
        staff.create(email, password, "admin", utcnow(), name="Admin", must_change_password=True)
        return password


def _safe_next(target: str) -> str:
    """Only a path inside the inbox, and nothing that could split the Location header."""
    if (not (target == "/inbox" or target.startswith(("/inbox/", "/inbox?"))) or urlsplit(target).netloc
            or "\\" in target  # browsers read a backslash as a slash
            or any(ord(ch) < 32 or ord(ch) == 127 for ch in target)):
        return url_for("inbox.conversations")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    csrf_token()
    if request.method == "GET":
        return render_template("inbox/login.html")
    services = services_of(current_app)
    email = request.form.get("email", "").strip().lower()
    address = request.remote_addr  # the client, once ProxyFix has read TRUSTED_PROXIES hops of X-Forwarded-For
    now = utcnow()
    token, blocked = None, False
    # Pages are rendered after the transaction: a page may read the database itself (the queue counts), which
    # on SQLite would wait for this transaction's lock.
    with services.database.session_scope() as db:
        throttle = login_throttle(db)
        blocked = throttle.blocked(email, address, now)
        if not blocked:
            staff = StaffRepository(db).authenticate(email, request.form.get("password", ""), now)
            if staff is None:
                throttle.fail(email, address, now)
            else:
                throttle.succeed(email, address)
                token = staff_sessions(db).start(staff.id, now, address, request.user_agent.string)
    if blocked:
        flash(N_("Too many failed attempts. Wait 15 minutes and try again."))
        return render_template("inbox/login.html"), 429
    if token is None:
        flash(N_("Wrong email or password."))
        return render_template("inbox/login.html"), 401
    lang = session.get("inbox_lang")
    session.clear()  # a fresh session on login: no fixation
    session.update({SESSION_KEY: token, "inbox_lang": lang or "es", "csrf": secrets.token_urlsafe(32)})
    session.permanent = True
    return redirect(_safe_next(request.args.get("next", "")))


@bp.post("/logout")
def logout() -> Any:
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        with services_of(current_app).database.session_scope() as db:
            staff_sessions(db).end(token)
    session.clear()
    return redirect(url_for("inbox.login"))


@bp.route("/password", methods=["GET", "POST"])
def password() -> Any:
    """Change one's own password: the current one first; every other session of the account then ends."""
    if request.method == "GET":
        return render_template("inbox/password.html", locale=staff_locale())
    new = request.form.get("password", "")
    if len(new) < MIN_PASSWORD or new != request.form.get("confirm", ""):
        flash(N_("Use at least 10 characters and type the same password twice."))
        return render_template("inbox/password.html", locale=staff_locale()), 400
    now = utcnow()
    with services_of(current_app).database.session_scope() as db:
        # Wrong current passwords count as failed logins: a borrowed session must not become a way to guess.
        throttle, accounts = login_throttle(db), StaffRepository(db)
        blocked = throttle.blocked(g.staff.email, request.remote_addr, now)
        right = not blocked and accounts.check_password(g.staff.id, request.form.get("current", ""))
        if right:
            accounts.set_password(g.staff.id, new, keep_session=g.staff_session)
            AuditRepository(db).add(g.staff, "password_change", f"staff:{g.staff.email}", now)
        elif not blocked:
            throttle.fail(g.staff.email, request.remote_addr, now)
    if blocked:  # rendered after the transaction, like the login page
        flash(N_("Too many failed attempts. Wait 15 minutes and try again."))
        return render_template("inbox/password.html", locale=staff_locale()), 429
    if not right:
        flash(N_("Your current password is not right."))
        return render_template("inbox/password.html", locale=staff_locale()), 400
    return redirect(url_for("inbox.conversations"))


@bp.before_request
def guard() -> Any:
    """Login for everything but the login page; a valid CSRF token on every POST, login included."""
    if request.args.get("lang") in ("en", "es"):
        session["inbox_lang"] = request.args["lang"]
    if request.method == "POST":
        sent = request.form.get("csrf_token", "") or request.headers.get("X-CSRF-Token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(400, "missing or wrong CSRF token")
    live = load_session()
    g.staff = live.staff if live else None
    g.staff_session = live.id if live else None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if g.staff is None:
        if request.method == "GET" and not request.path.startswith("/inbox/documents/") and not _background():
            return redirect(url_for("inbox.login", next=request.full_path))
        abort(401)
    if g.staff.must_change_password and request.endpoint not in ("inbox.password", "inbox.logout"):
        return redirect(url_for("inbox.password"))
    if g.staff.read_only and request.method not in ("GET", "HEAD", "OPTIONS") \
            and request.endpoint not in READ_ONLY_ALLOWED:
        abort(403)  # a manager reads; every action, present or added later, is refused here in one place
    return None
