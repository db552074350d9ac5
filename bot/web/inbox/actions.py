"""Inbox actions (all POST, all CSRF-checked): take, reply, note, hand back, case status, document
review, and delivering the IMSS receipt and payment slip."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, request, url_for

from bot.service.casework import CaseWork, CaseWorkError
from bot.service.payments import PaymentError
from bot.web.context import services_of
from bot.web.inbox.blueprint import bp
from locales import N_


def _work() -> CaseWork:
    services = services_of(current_app)
    return CaseWork(services.database, services.cipher, services.engine, services.documents,
                    mail_from=services.settings.mail_from, business_name=services.settings.business_name,
                    on_queued=services.worker.wake if services.worker else None)


def _back(conversation_id: int) -> Any:
    return redirect(url_for("inbox.conversation", conversation_id=conversation_id))


def _attempt(conversation_id: int, action: Any) -> Any:
    try:
        action()
    except CaseWorkError as error:
        flash(str(error))
        return _back(conversation_id), 303
    return _back(conversation_id)


@bp.post("/c/<int:conversation_id>/take")
def take(conversation_id: int) -> Any:
    return _attempt(conversation_id, lambda: _work().take(g.staff, conversation_id))


@bp.post("/c/<int:conversation_id>/reply")
def reply(conversation_id: int) -> Any:
    return _attempt(conversation_id, lambda: _work().reply(g.staff, conversation_id, request.form.get("text", "")))


@bp.post("/c/<int:conversation_id>/note")
def note(conversation_id: int) -> Any:
    return _attempt(conversation_id, lambda: _work().note(g.staff, conversation_id, request.form.get("text", "")))


@bp.post("/c/<int:conversation_id>/hand-back")
def hand_back(conversation_id: int) -> Any:
    return _attempt(conversation_id, lambda: _work().hand_back(g.staff, conversation_id))


@bp.post("/c/<int:conversation_id>/case/<int:case_id>/status")
def case_status(conversation_id: int, case_id: int) -> Any:
    return _attempt(conversation_id, lambda: _work().set_status(
        g.staff, case_id, request.form.get("status", ""), request.form.get("reason", ""),
        request.form.get("document", "")))


@bp.post("/c/<int:conversation_id>/documents/<int:document_id>/review")
def review_document(conversation_id: int, document_id: int) -> Any:
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
    receipt, slip = request.files.get("receipt"), request.files.get("payment_slip")
    if receipt is None or slip is None:
        flash(N_("Both files are needed."))
        return _back(conversation_id), 303
    return _attempt(conversation_id, lambda: _work().deliver_results(g.staff, case_id, receipt.read(), slip.read()))
