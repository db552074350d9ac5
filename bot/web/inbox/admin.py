"""Admin pages: staff accounts, canned responses and the audit log."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

from bot.core.clock import utcnow
from bot.web.context import services_of
from bot.web.inbox.auth import MIN_PASSWORD, staff_sessions
from bot.web.inbox.blueprint import bp
from bot.web.limits import bounded_int
from locales import N_
from storage.rights import RightsRepository
from storage.staff import ROLES, AccountExists, AuditRepository, CannedRepository, StaffRepository


def _admin_only() -> None:
    if not g.staff.is_admin:
        abort(403)


@bp.route("/staff", methods=["GET", "POST"])
def staff() -> Any:
    _admin_only()
    services = services_of(current_app)
    if request.method == "POST":
        email, password = request.form.get("email", "").strip(), request.form.get("password", "")
        role = request.form.get("role", "agent")
        if "@" not in email or len(password) < MIN_PASSWORD or role not in ROLES:
            flash(N_("Give an email, a role and a password of at least 10 characters."))
            return redirect(url_for("inbox.staff"))
        try:
            with services.database.session_scope() as db:
                StaffRepository(db).create(email, password, role, utcnow(), name=request.form.get("name", ""))
                AuditRepository(db).add(g.staff, "staff_add", f"staff:{email}", utcnow(), role)
        except AccountExists:
            flash(N_("That email already has an account."))
        return redirect(url_for("inbox.staff"))
    with services.database.session_scope() as db:
        people = StaffRepository(db).all()
        sessions = staff_sessions(db).live(utcnow())
    return render_template("inbox/staff.html", people=people, roles=ROLES, sessions=sessions)


@bp.post("/staff/<path:email>/disable")
def disable_staff(email: str) -> Any:
    """Disable an account; its sessions end with it (in the repository)."""
    _admin_only()
    services = services_of(current_app)
    with services.database.session_scope() as db:
        if email == g.staff.email:
            flash(N_("You cannot disable your own account."))
        elif StaffRepository(db).set_active(email, False):
            AuditRepository(db).add(g.staff, "staff_disable", f"staff:{email}", utcnow())
    return redirect(url_for("inbox.staff"))


@bp.post("/staff/<path:email>/role")
def change_role(email: str) -> Any:
    """Give an account another role; its sessions end, so the new role applies from its next login."""
    _admin_only()
    role = request.form.get("role", "")
    if role not in ROLES:
        abort(400)
    services = services_of(current_app)
    with services.database.session_scope() as db:
        accounts = StaffRepository(db)
        if email == g.staff.email:
            flash(N_("You cannot change your own role."))
        elif any(person.email == email and person.role != role for person in accounts.all()):
            accounts.set_role(email, role)
            AuditRepository(db).add(g.staff, "staff_role", f"staff:{email}", utcnow(), role)
    return redirect(url_for("inbox.staff"))


@bp.post("/staff/sessions/<int:session_id>/end")
def end_session(session_id: int) -> Any:
    """End one staff session (a lost laptop, a shared computer); the browser holding it must log in again."""
    _admin_only()
    services = services_of(current_app)
    with services.database.session_scope() as db:
        ended = staff_sessions(db).end_by_id(session_id)
        if ended is not None:
            AuditRepository(db).add(g.staff, "session_end", f"staff:{ended.email}", utcnow(),
                                    f"session {ended.id} from {ended.address or '?'}")
    return redirect(url_for("inbox.staff"))


@bp.route("/canned", methods=["GET", "POST"])
def canned() -> Any:
    services = services_of(current_app)
    if request.method == "POST":
        _admin_only()
        title, body = request.form.get("title", "").strip(), request.form.get("body", "").strip()
        with services.database.session_scope() as db:
            if request.form.get("delete"):
                canned_id = bounded_int(request.form["delete"])
                if canned_id is None:
                    abort(400)
                CannedRepository(db).delete(canned_id)
            elif title and body:
                CannedRepository(db).add(title[:120], body, utcnow())
            AuditRepository(db).add(g.staff, "canned_edit", "canned", utcnow(), title or None)
        return redirect(url_for("inbox.canned"))
    with services.database.session_scope() as db:
        responses = CannedRepository(db).all()
    return render_template("inbox/canned.html", responses=responses)


@bp.get("/rights")
def rights() -> Any:
    """Data-rights requests, open ones first by deadline (20 business days, LFPDPPP art. 31)."""
    services = services_of(current_app)
    with services.database.session_scope() as db:
        requests = RightsRepository(db).recent()
    return render_template("inbox/rights.html", requests=requests)


@bp.get("/audit")
def audit() -> Any:
    _admin_only()
    services = services_of(current_app)
    with services.database.session_scope() as db:
        entries = AuditRepository(db).recent(500)
    return render_template("inbox/audit.html", entries=entries)
