"""The inbox's payments page: pending payments (transfer receipts to review) first, then recent ones, the paid
totals per day and month for admins, and a refund by an admin with a reason (audited; the applicant is told)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

from bot.core.clock import utcnow
from bot.service.notices import queue_notice
from bot.web.context import services_of
from bot.web.inbox.blueprint import bp
from flows.rules.prices import amount
from locales import N_
from storage.conversations import ConversationRepository
from storage.payments import PaymentRepository
from storage.staff import AuditRepository

STATES = {"pending": N_("pending"), "paid": N_("paid"), "failed": N_("failed"), "expired": N_("expired"),
          "refunded": N_("refunded")}
METHODS = {"spei": N_("SPEI transfer"), "stripe": N_("card or OXXO (Stripe)")}
KINDS = {"service": N_("service"), "membership": N_("membership")}
TOTALS_SINCE = timedelta(days=400)  # this month and the twelve before it
REFUND_NOTICE = N_("We have refunded your payment %(reference)s of %(amount)s MXN. It may take a few business days "
                   "to show in your account. If you have any question, write to us here.")


@bp.get("/payments")
def payments() -> Any:
    services = services_of(current_app)
    status = request.args.get("status", "")
    status = status if status in STATES else ""
    zone = ZoneInfo(services.settings.business_timezone)
    with services.database.session_scope() as db:
        repository = PaymentRepository(db)
        rows = repository.listing(status)
        refunds = repository.refunds(row.payment.id for row in rows if row.payment.status == "refunded")
        totals = repository.paid_totals(utcnow() - TOTALS_SINCE, zone) if g.staff.is_admin else None
    return render_template("inbox/payments.html", rows=rows, refunds=refunds, totals=totals, status=status,
                           states=STATES, methods=METHODS, kinds=KINDS, amount=amount,
                           local=lambda moment: _local(moment, zone))


@bp.post("/payments/<int:payment_id>/refund")
def refund_payment(payment_id: int) -> Any:
    """An admin's explicit decision to give a paid payment back: marked refunded (no longer in the totals),
    audited with the reason, and the applicant is told kindly. Our terms say no refunds once the filing
    started, so this is never automatic."""
    if not g.staff.is_admin:
        abort(403)
    reason = request.form.get("reason", "").strip()[:500]
    if not reason:
        flash(N_("Say why the payment is refunded."))
        return redirect(url_for("inbox.payments")), 303
    services = services_of(current_app)
    now = utcnow()
    with services.database.session_scope() as db:
        repository = PaymentRepository(db)
        payment = repository.get(payment_id)
        contract = repository.contract(payment.contract_id) if payment else None
        if payment is None or contract is None:
            abort(404)
        conversation_id = contract.conversation_id
        conversations = ConversationRepository(db, services.cipher)
        # The conversation first, as a confirmation does: a turn of it running now waits for the refund.
        state = conversations.lock_by_id(conversation_id) if conversation_id is not None else None
        if not repository.transition(payment_id, "refunded", now):
            flash(N_("Only a paid payment can be refunded."))
            return redirect(url_for("inbox.payments")), 303
        AuditRepository(db).add(g.staff, "payment_refund", f"payment:{payment_id}", now, reason)
        if state is not None and conversation_id is not None:
            if isinstance(state.data.get("payment"), dict):
                state.data["payment"] = {**state.data["payment"], "status": "refunded"}
                conversations.save(conversation_id, state, ())
            queue_notice(db, services.cipher, conversation_id, "status_update", REFUND_NOTICE, now,
                         author="staff", reference=payment.reference, amount=amount(payment.amount_centavos))
    if services.worker:
        services.worker.wake()
    flash(N_("Payment refunded; the applicant was told."))
    return redirect(url_for("inbox.payments", status="refunded"))


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""
