"""Admin pages (staff accounts, the audit log) and the canned responses every agent manages."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for

from bot.core.clock import utcnow
from bot.service.casework import fill_variables
from bot.web.context import services_of
from bot.web.inbox.auth import MIN_PASSWORD, staff_sessions
from bot.web.inbox.blueprint import bp, staff_locale
from bot.web.limits import bounded_int
from locales import N_, translate
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


# What a preview fills the placeholders with on the canned-responses page (a conversation fills its own).
EXAMPLE_APPLICANT: dict[str, object] = {"full_name": "María López Hernández", "case": {"folio": "PTI-2026-000123"}}
TITLE_MAX = 120
BODY_MAX = 4000


def _canned_form() -> tuple[str, str]:
    return request.form.get("title", "").strip()[:TITLE_MAX], request.form.get("body", "").strip()[:BODY_MAX]


def _canned_page(status: int = 200, **context: Any) -> Any:
    services = services_of(current_app)
    with services.database.session_scope() as db:
        responses = CannedRepository(db).all()
    previews = {item.id: fill_variables(item.body, EXAMPLE_APPLICANT) for item in responses}
    return render_template("inbox/canned.html", responses=responses, previews=previews, **context), status


@bp.route("/canned", methods=["GET", "POST"])
def canned() -> Any:
    """Canned responses: every agent adds, edits and deletes them (a manager only reads, refused in `auth`)."""
    if request.method == "GET":
        return _canned_page()
    services = services_of(current_app)
    if request.form.get("delete"):  # the confirmation page posts here
        canned_id = bounded_int(request.form["delete"])
        if canned_id is None:
            abort(400)
        with services.database.session_scope() as db:
            repository = CannedRepository(db)
            gone = repository.get(canned_id)
            if gone is not None:
                repository.delete(canned_id)
                AuditRepository(db).add(g.staff, "canned_delete", f"canned:{canned_id}", utcnow(), gone.title)
        if gone is not None:
            flash(N_("Canned response deleted."))
        return redirect(url_for("inbox.canned"))
    title, body = _canned_form()
    if request.form.get("action") == "preview":
        return _canned_page(draft={"title": title, "body": body,
                                   "preview": fill_variables(body, EXAMPLE_APPLICANT)})
    if not title or not body:
        flash(N_("Give the response a title and a text."))
        return _canned_page(400, draft={"title": title, "body": body, "preview": None})
    with services.database.session_scope() as db:
        CannedRepository(db).add(title, body, utcnow())
        AuditRepository(db).add(g.staff, "canned_add", "canned", utcnow(), title)
    flash(N_("Canned response added."))
    return redirect(url_for("inbox.canned"))


def _one_canned(canned_id: int) -> Any:
    with services_of(current_app).database.session_scope() as db:
        item = CannedRepository(db).get(canned_id) if 0 < canned_id < 2**63 else None
    if item is None:
        abort(404)
    return item


@bp.route("/canned/<int:canned_id>/edit", methods=["GET", "POST"])
def edit_canned(canned_id: int) -> Any:
    item = _one_canned(canned_id)
    if request.method == "GET":
        return _canned_page(editing={"id": item.id, "title": item.title, "body": item.body,
                                     "preview": fill_variables(item.body, EXAMPLE_APPLICANT)})
    title, body = _canned_form()
    if request.form.get("action") == "preview" or not title or not body:
        if not (title and body):
            flash(N_("Give the response a title and a text."))
        return _canned_page(200 if title and body else 400, editing={
            "id": item.id, "title": title, "body": body, "preview": fill_variables(body, EXAMPLE_APPLICANT)})
    with services_of(current_app).database.session_scope() as db:
        if CannedRepository(db).update(canned_id, title, body):
            AuditRepository(db).add(g.staff, "canned_edit", f"canned:{canned_id}", utcnow(), title)
    flash(N_("Canned response saved."))
    return redirect(url_for("inbox.canned"))


@bp.get("/canned/<int:canned_id>/delete")
def delete_canned(canned_id: int) -> Any:
    """Ask before deleting: the page names the response and posts the deletion only when confirmed."""
    return _canned_page(deleting=_one_canned(canned_id))


@bp.get("/c/<int:conversation_id>/canned")
def canned_for_conversation(conversation_id: int) -> Any:
    """The canned responses filled for this conversation's applicant, for the composer's "/" list."""
    services = services_of(current_app)
    with services.database.session_scope() as db:
        repository = CannedRepository(db)
        data = repository.applicant_data(conversation_id, services.cipher)
        if data is None:
            abort(404)
        responses = repository.all()
    locale = staff_locale()
    return jsonify({
        "responses": [{"id": item.id, "title": item.title, "text": fill_variables(item.body, data)}
                      for item in responses],
        "labels": {"empty": translate(locale, N_("No canned response matches.")),
                   "count": translate(locale, N_("%(count)s canned responses: arrows to choose, Enter to insert, "
                                                 "Escape to close.")),
                   "list": translate(locale, N_("Canned responses"))},
    })


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
