"""Inbox actions (all POST, all CSRF-checked): take, assign, reply, note, hand back, labels, data
corrections, case status, document review, and delivering the IMSS receipt and payment slip.

Every id in a URL is checked against the conversation it is under (404 otherwise), and acting on a
conversation a colleague has needs an explicit "take over". With htmx the same forms post in the
background and the page swaps in the result; without JavaScript they post and redirect as always.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, redirect, request, url_for

from bot.core.clock import utcnow
from bot.service.casework import CaseWorkError
from bot.service.inbox_work import InboxWork
from bot.service.payments import PaymentError
from bot.web.context import services_of
from bot.web.inbox.blueprint import bp, staff_locale
from locales import N_, translate
from storage.inbox_queries import InboxQueries
from storage.staff import AuditRepository, StaffRepository

MAX_LABEL = 40


def _work() -> InboxWork:
    services = services_of(current_app)
    return InboxWork(services.database, services.cipher, services.engine, services.documents,
                     mail_from=services.settings.mail_from, business_name=services.settings.business_name,
                     on_queued=services.worker.wake if services.worker else None)


def _back(conversation_id: int) -> Any:
    viewer = f"/inbox/c/{conversation_id}/documents/"
    target = request.form.get("back", "")
    if target.startswith(viewer) and target[len(viewer):].isdigit():
        return redirect(target)  # back to the document viewer it was sent from
    return redirect(url_for("inbox.conversation", conversation_id=conversation_id))


def _attempt(conversation_id: int, action: Any) -> Any:
    try:
        action()
    except CaseWorkError as error:
        flash(str(error))
        return _back(conversation_id), 303
    return _back(conversation_id)


def _owned_elsewhere(conversation_id: int) -> str | None:
    """The colleague who has this conversation, unless it is the current staff member (or the bot)."""
    services = services_of(current_app)
    with services.database.session_scope() as db:
        found = InboxQueries(db, services.cipher).owner_of(conversation_id)
        if found is None:
            abort(404)
        owner, assigned_to = found
        if owner != "human" or assigned_to is None or assigned_to == g.staff.id:
            return None
        colleague = StaffRepository(db).get(assigned_to)
        return (colleague.name or colleague.email) if colleague else None


def _guarded(conversation_id: int, action: Any) -> Any:
    """Act only if nobody else has the conversation, or if staff explicitly chose to take it over."""
    owner = _owned_elsewhere(conversation_id)
    if owner and request.form.get("take_over") != "1":
        flash(translate(staff_locale(), N_("%(name)s has this conversation. Choose “Take over” to act on it."),
                        name=owner))
        return _back(conversation_id), 303
    return _attempt(conversation_id, action)


def _check(conversation_id: int, *, case_id: int | None = None, document_id: int | None = None) -> None:
    """A case or document id in the URL must belong to the conversation in the URL."""
    services = services_of(current_app)
    with services.database.session_scope() as db:
        queries = InboxQueries(db, services.cipher)
        if case_id is not None and not queries.case_in(conversation_id, case_id):
            abort(404)
        if document_id is not None and not queries.document_in(conversation_id, document_id):
            abort(404)


@bp.post("/c/<int:conversation_id>/take")
def take(conversation_id: int) -> Any:
    return _guarded(conversation_id, lambda: _work().take(g.staff, conversation_id))


@bp.post("/c/<int:conversation_id>/assign")
def assign(conversation_id: int) -> Any:
    colleague = request.form.get("staff_id", "")
    if not colleague.isdigit():
        flash(N_("Choose an active colleague."))
        return _back(conversation_id), 303
    return _guarded(conversation_id, lambda: _work().assign(g.staff, conversation_id, int(colleague)))


@bp.post("/c/<int:conversation_id>/reply")
def reply(conversation_id: int) -> Any:
    return _guarded(conversation_id, lambda: _work().reply(g.staff, conversation_id, request.form.get("text", "")))


@bp.post("/c/<int:conversation_id>/note")
def note(conversation_id: int) -> Any:
    return _attempt(conversation_id, lambda: _work().note(g.staff, conversation_id, request.form.get("text", "")))


@bp.post("/c/<int:conversation_id>/hand-back")
def hand_back(conversation_id: int) -> Any:
    return _guarded(conversation_id, lambda: _work().hand_back(g.staff, conversation_id))


@bp.post("/c/<int:conversation_id>/labels")
def labels(conversation_id: int) -> Any:
    """Add (`add`) or remove (`remove`) a short label on the conversation."""
    services = services_of(current_app)
    added = " ".join(request.form.get("add", "").split()).lower()[:MAX_LABEL]
    removed = request.form.get("remove", "")
    with services.database.session_scope() as db:
        queries = InboxQueries(db, services.cipher)
        if queries.owner_of(conversation_id) is None:
            abort(404)
        if added:
            queries.add_label(conversation_id, added)
        if removed:
            queries.remove_label(conversation_id, removed)
        if added or removed:
            AuditRepository(db).add(g.staff, "label", f"conversation:{conversation_id}",
                                    utcnow(), f"+{added}" if added else f"-{removed}")
    return _back(conversation_id)


@bp.post("/c/<int:conversation_id>/correct")
def correct(conversation_id: int) -> Any:
    return _attempt(conversation_id, lambda: _work().correct(
        g.staff, conversation_id, request.form.get("field", ""), request.form.get("value", ""),
        request.form.get("reason", ""), staff_locale()))


@bp.post("/c/<int:conversation_id>/case/<int:case_id>/status")
def case_status(conversation_id: int, case_id: int) -> Any:
    _check(conversation_id, case_id=case_id)
    return _attempt(conversation_id, lambda: _work().set_status(
        g.staff, case_id, request.form.get("status", ""), request.form.get("reason", ""),
        request.form.get("document", "")))


@bp.post("/c/<int:conversation_id>/documents/<int:document_id>/review")
def review_document(conversation_id: int, document_id: int) -> Any:
    _check(conversation_id, document_id=document_id)
    approve = request.form.get("decision") == "approve"
    return _attempt(conversation_id, lambda: _work().review_document(
        g.staff, document_id, approve, request.form.get("reason", "")))


@bp.post("/c/<int:conversation_id>/payments/line")
def payment_line(conversation_id: int) -> Any:
    upload = request.files.get("line")
    content = upload.read() if upload else b""
    return _attempt(conversation_id, lambda: _work().send_payment_line(
        g.staff, conversation_id, request.form.get("period", "").strip(), content))


@bp.post("/c/<int:conversation_id>/payments/paid")
def payment_paid(conversation_id: int) -> Any:
    return _attempt(conversation_id, lambda: _work().confirm_payment(
        g.staff, conversation_id, request.form.get("period", "").strip()))


@bp.post("/c/<int:conversation_id>/service-payment/<int:payment_id>/confirm")
def confirm_service_payment(conversation_id: int, payment_id: int) -> Any:
    """Staff matched a SPEI transfer: the payment is paid and the case filed (once)."""
    def confirm() -> None:
        if not services_of(current_app).turns.payments.confirm(payment_id, g.staff, conversation_id):
            flash(N_("This payment was already confirmed."))
    return _attempt_payment(conversation_id, confirm)


@bp.post("/c/<int:conversation_id>/service-payment/<int:payment_id>/reject")
def reject_service_payment(conversation_id: int, payment_id: int) -> Any:
    """Staff could not match the transfer: the applicant hears why and is asked for the receipt again."""
    return _attempt_payment(conversation_id, lambda: services_of(current_app).turns.payments.reject(
        payment_id, g.staff, conversation_id, request.form.get("reason", "")))


def _attempt_payment(conversation_id: int, action: Any) -> Any:
    try:
        action()
    except PaymentError as error:
        flash(str(error))
        return _back(conversation_id), 303
    return _back(conversation_id)


@bp.post("/c/<int:conversation_id>/case/<int:case_id>/results")
def deliver_results(conversation_id: int, case_id: int) -> Any:
    _check(conversation_id, case_id=case_id)
    receipt, slip = request.files.get("receipt"), request.files.get("payment_slip")
    if receipt is None or slip is None:
        flash(N_("Both files are needed."))
        return _back(conversation_id), 303
    return _attempt(conversation_id, lambda: _work().deliver_results(g.staff, case_id, receipt.read(), slip.read()))
