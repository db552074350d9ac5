"""The inbox's payments page: pending payments (transfer receipts to review) first, then recent ones, the paid
totals per day and month for admins, and a refund by an admin with a reason (audited; the applicant is told).
Also the memberships and their state (pending, active until a day, legacy, lapsed, cancelled, refunded) with a
cancel action (audited; the member is told), and the invoice (CFDI) data applicants recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

from bot.core.clock import utcnow
from bot.service.notices import queue_notice
from bot.web.context import services_of
from bot.web.inbox.blueprint import bp
from flows.rules.payments import last_covered_day
from flows.rules.prices import CONCEPTS, amount
from locales import N_
from storage.conversations import ConversationRepository
from storage.db import Session
from storage.payments import PaymentRepository
from storage.staff import AuditRepository
from storage.subscriptions import MembershipRepository

STATES = {"pending": N_("pending"), "paid": N_("paid"), "failed": N_("failed"), "expired": N_("expired"),
          "refunded": N_("refunded")}
METHODS = {"spei": N_("SPEI transfer"), "stripe": N_("card or OXXO (Stripe)")}
KINDS = {"service": N_("service"), "membership": N_("membership")}
MEMBERSHIP_STATES = {"pending": N_("pending payment"), "active": N_("active"), "legacy": N_("legacy (no end date)"),
                     "lapsed": N_("lapsed"), "cancelled": N_("cancelled"), "refunded": N_("refunded")}
REGIMES = {"612": N_("612 Business and professional activities"), "626": N_("626 RESICO"),
           "605": N_("605 Wages and salaries"), "616": N_("616 No tax obligations")}
MEMBERSHIP_ENDED_NOTICE = N_("Your payment reminders membership is no longer active, so we will not send you more "
                             "IMSS payment reminders. To get them again, write *membresía*.")
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
        memberships = MembershipRepository(db).listing()
        invoices = repository.invoice_data((row.conversation_id for row in rows if row.conversation_id),
                                           services.cipher)
        if invoices:  # personal data shown to staff: recorded like any other view of it
            AuditRepository(db).add(g.staff, "view_invoice_data", "payments", utcnow(),
                                    ",".join(f"conversation:{cid}" for cid in sorted(invoices))[:1000])
    pending_memberships = [row for row in rows if row.kind == "membership" and row.payment.status == "pending"]
    return render_template("inbox/payments.html", rows=rows, refunds=refunds, totals=totals, status=status,
                           states=STATES, methods=METHODS, kinds=KINDS, amount=amount, memberships=memberships,
                           pending_memberships=pending_memberships, membership_states=MEMBERSHIP_STATES,
                           concepts=CONCEPTS, invoices=invoices, regimes=REGIMES,
                           until=lambda moment: last_covered_day(moment, zone).isoformat(),
                           local=lambda moment: _local(moment, zone))


@bp.post("/payments/memberships/<int:subscription_id>/cancel")
def cancel_membership(subscription_id: int) -> Any:
    """Staff end a membership now (a legacy one too): reminders stop, audited, and the member is told."""
    services = services_of(current_app)
    now = utcnow()
    with services.database.session_scope() as db:
        ended = MembershipRepository(db).end(subscription_id, "cancelled", now)
        if ended is None:
            flash(N_("This membership had already ended."))
            return redirect(url_for("inbox.payments")), 303
        AuditRepository(db).add(g.staff, "membership_cancel", f"subscription:{subscription_id}", now,
                                request.form.get("reason", "").strip()[:500] or None)
        _tell_membership_ended(db, services.cipher, ended.conversation_id, "cancelled", now)
    if services.worker:
        services.worker.wake()
    flash(N_("Membership cancelled; the member was told."))
    return redirect(url_for("inbox.payments"))


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
        # A refunded membership payment takes the membership it paid with it.
        membership = MembershipRepository(db)
        subscription_id = membership.paid_by(contract.id) if contract.kind == "membership" else None
        ended = membership.end(subscription_id, "refunded", now) if subscription_id is not None else None
        if state is not None and conversation_id is not None:
            key = "membership_payment" if contract.kind == "membership" else "payment"
            if isinstance(state.data.get(key), dict):
                state.data[key] = {**state.data[key], "status": "refunded"}
            if ended is not None:
                state.data["reminders_active"] = False
                state.data["membership"] = {**(state.data.get("membership") or {}), "status": "refunded"}
            conversations.save(conversation_id, state, ())
            queue_notice(db, services.cipher, conversation_id, "status_update", REFUND_NOTICE, now,
                         author="staff", reference=payment.reference, amount=amount(payment.amount_centavos))
            if ended is not None:
                queue_notice(db, services.cipher, conversation_id, "status_update", MEMBERSHIP_ENDED_NOTICE, now,
                             author="staff")
    if services.worker:
        services.worker.wake()
    flash(N_("Payment refunded; the applicant was told."))
    return redirect(url_for("inbox.payments", status="refunded"))


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def _tell_membership_ended(db: Session, cipher: Any, conversation_id: int, status: str, now: datetime) -> None:
    """The chat follows the membership (no longer subscribed) and the member hears it ended."""
    conversations = ConversationRepository(db, cipher)
    state = conversations.lock_by_id(conversation_id)
    if state is None:
        return
    state.data["reminders_active"] = False
    state.data["membership"] = {**(state.data.get("membership") or {}), "status": status}
    conversations.save(conversation_id, state, ())
    queue_notice(db, cipher, conversation_id, "status_update", MEMBERSHIP_ENDED_NOTICE, now, author="staff")
