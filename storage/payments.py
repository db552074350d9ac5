"""Contracts and their payments: what an applicant accepted to buy, each attempt to pay it, and the provider
events already applied (so that a retried or replayed webhook changes nothing). Plain records out; never commits.

A payment's status moves only forward from "pending" (to paid, failed, expired), and "paid" only to
"refunded": every change is one conditional UPDATE, so two deliveries of one confirmation apply it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.models import AuditEntry, Contact, Contract, Conversation, Payment, PaymentEvent
from storage.sql import insert_ignoring_duplicates

FINAL_FROM = {"paid": ("pending", "failed"), "failed": ("pending",), "expired": ("pending",),
              "refunded": ("paid",), "pending": ("pending",)}


@dataclass(frozen=True, slots=True)
class ContractRecord:
    id: int
    contact_id: int | None
    conversation_id: int | None
    case_id: int | None
    kind: str
    plan: str
    amount_centavos: int
    text_version: str
    accepted_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    id: int
    contract_id: int
    method: str
    amount_centavos: int
    status: str
    reference: str
    provider_session_id: str | None
    checkout_url: str | None
    receipt_document_id: int | None
    confirmed_by: str | None
    note: str | None
    created_at: datetime
    paid_at: datetime | None


@dataclass(frozen=True, slots=True)
class PaymentListing:
    """A payment as the inbox lists it: with its contract's kind and conversation, and when it last changed."""

    payment: PaymentRecord
    kind: str
    conversation_id: int | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Refund:
    """Who refunded a payment, when and why (from the audit log, which the refund writes)."""

    actor: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class PaidTotals:
    """Paid amounts (refunded ones never count) per local day and per month, newest first."""

    days: list[tuple[date, int, int]]  # (day, centavos, payments)
    months: list[tuple[str, int, int]]  # ("2026-12", centavos, payments)


@dataclass(frozen=True, slots=True)
class InvoiceData:
    """What the applicant gave for their invoice (CFDI), for staff to issue it: RFC, tax regime, postal code."""

    rfc: str
    regime: str
    postal_code: str


@dataclass(frozen=True, slots=True)
class UnpaidContract:
    """A contract accepted and not paid, with what a reminder needs: the language and channel to write in."""

    id: int
    conversation_id: int
    amount_centavos: int
    accepted_at: datetime
    locale: str
    channel: str
    plan: str = ""
    reference: str | None = None  # of its latest payment, if one was started


class PaymentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- contracts -------------------------------------------------------------------------------------
    def accept_contract(self, contact_id: int, conversation_id: int, kind: str, plan: str, amount_centavos: int,
                        text_version: str, message_id: int | None, now: datetime) -> ContractRecord:
        """Record what the applicant accepted, at the price of that moment (later price changes do not touch it)."""
        contract = Contract(contact_id=contact_id, conversation_id=conversation_id, kind=kind, plan=plan,
                            amount_centavos=amount_centavos, text_version=text_version, message_id=message_id,
                            accepted_at=now)
        self.session.add(contract)
        self.session.flush()
        return _contract(contract)

    def open_contract(self, conversation_id: int, kind: str) -> ContractRecord | None:
        """The conversation's latest contract of `kind` that has no case yet (still to be paid or filed)."""
        contract = self.session.execute(
            select(Contract).where(Contract.conversation_id == conversation_id, Contract.kind == kind,
                                   Contract.case_id.is_(None)).order_by(Contract.id.desc()).limit(1)
        ).scalar_one_or_none()
        return _contract(contract) if contract else None

    def unpaid_contract(self, conversation_id: int, kind: str) -> ContractRecord | None:
        """The conversation's latest contract of `kind` while none of its payments is paid or refunded (a
        membership's: each renewal is a contract of its own)."""
        contract = self.session.execute(
            select(Contract).where(Contract.conversation_id == conversation_id, Contract.kind == kind)
            .order_by(Contract.id.desc()).limit(1)).scalar_one_or_none()
        if contract is None or self.session.execute(select(Payment.id).where(
                Payment.contract_id == contract.id, Payment.status.in_(("paid", "refunded"))).limit(1)).first():
            return None
        return _contract(contract)

    def contract(self, contract_id: int) -> ContractRecord | None:
        contract = self.session.get(Contract, contract_id)
        return _contract(contract) if contract else None

    def link_case(self, contract_id: int, case_id: int) -> None:
        self.session.execute(update(Contract).where(Contract.id == contract_id).values(case_id=case_id))

    def unpaid_contracts(self, accepted_before: datetime, kind: str = "service") -> list[UnpaidContract]:
        """Contracts accepted before `accepted_before` and still unpaid: no case, no paid or refunded payment and
        no transfer receipt waiting for staff; of a bot-owned conversation whose contact can be written to."""
        settled = select(Payment.id).where(Payment.contract_id == Contract.id, (
            Payment.status.in_(("paid", "refunded"))
            | ((Payment.status == "pending") & Payment.receipt_document_id.is_not(None)))).exists()
        reference = select(Payment.reference).where(Payment.contract_id == Contract.id).order_by(
            Payment.id.desc()).limit(1).correlate(Contract).scalar_subquery()
        rows = self.session.execute(
            select(Contract.id, Contract.conversation_id, Contract.amount_centavos, Contract.accepted_at,
                   Conversation.locale, Contact.channel, Contract.plan, reference)
            .join(Conversation, Conversation.id == Contract.conversation_id)
            .join(Contact, Contact.id == Contract.contact_id)
            .where(Contract.kind == kind, Contract.case_id.is_(None), Contract.accepted_at < accepted_before,
                   Conversation.owner == "bot", Contact.opted_out.is_(False), Contact.reachable.is_(True), ~settled)
            .order_by(Contract.id)).all()
        return [UnpaidContract(*row) for row in rows]

    # -- payments --------------------------------------------------------------------------------------
    def start_payment(self, contract_id: int, method: str, now: datetime) -> PaymentRecord:
        """A new pending payment of the whole contract amount; its reference comes from the row id (PTI-P000123)."""
        contract = self.session.get(Contract, contract_id)
        assert contract is not None, contract_id
        payment = Payment(contract_id=contract_id, method=method, amount_centavos=contract.amount_centavos,
                          status="pending", created_at=now, updated_at=now)
        self.session.add(payment)
        self.session.flush()
        payment.reference = f"PTI-P{payment.id:06d}"
        self.session.flush()
        return _payment(payment)

    def get(self, payment_id: int) -> PaymentRecord | None:
        payment = self.session.get(Payment, payment_id)
        return _payment(payment) if payment else None

    def by_reference(self, reference: str) -> PaymentRecord | None:
        payment = self.session.execute(select(Payment).where(Payment.reference == reference)).scalar_one_or_none()
        return _payment(payment) if payment else None

    def by_provider_session(self, session_id: str) -> PaymentRecord | None:
        payment = self.session.execute(
            select(Payment).where(Payment.provider_session_id == session_id)).scalar_one_or_none()
        return _payment(payment) if payment else None

    def latest_for_conversation(self, conversation_id: int, kind: str | None = None) -> PaymentRecord | None:
        """The newest payment of the conversation's contracts (of `kind`, if given): what the inbox and "estado"
        show."""
        statement = select(Payment).join(Contract, Contract.id == Payment.contract_id).where(
            Contract.conversation_id == conversation_id)
        if kind is not None:
            statement = statement.where(Contract.kind == kind)
        payment = self.session.execute(statement.order_by(Payment.id.desc()).limit(1)).scalar_one_or_none()
        return _payment(payment) if payment else None

    def pending(self, limit: int = 100) -> list[PaymentRecord]:
        rows = self.session.execute(select(Payment).where(Payment.status == "pending")
                                    .order_by(Payment.id).limit(limit)).scalars()
        return [_payment(row) for row in rows]

    def listing(self, status: str = "", limit: int = 200) -> list[PaymentListing]:
        """Pending payments first (oldest first: they wait longest for a receipt check), then the most recent
        others; with `status`, only that status, newest first."""
        statement = select(Payment, Contract.kind, Contract.conversation_id).join(
            Contract, Contract.id == Payment.contract_id)
        if status:
            queries = [statement.where(Payment.status == status).order_by(Payment.id.desc()).limit(limit)]
        else:
            queries = [statement.where(Payment.status == "pending").order_by(Payment.id).limit(limit),
                       statement.where(Payment.status != "pending").order_by(Payment.id.desc()).limit(limit)]
        return [PaymentListing(_payment(row), kind, conversation_id, row.updated_at)
                for query in queries for row, kind, conversation_id in self.session.execute(query).all()]

    def paid_totals(self, since: datetime, zone: tzinfo) -> PaidTotals:
        """Totals of what is paid now (status "paid": a refund takes a payment out) since `since`, by day and
        month in the business's time zone (summed here, so SQLite and PostgreSQL agree on the day boundaries)."""
        days: dict[date, tuple[int, int]] = {}
        months: dict[str, tuple[int, int]] = {}
        rows = self.session.execute(select(Payment.paid_at, Payment.amount_centavos).where(
            Payment.status == "paid", Payment.paid_at.is_not(None), Payment.paid_at >= since)).all()
        for paid_at, centavos in rows:
            day = paid_at.astimezone(zone).date()
            total, count = days.get(day, (0, 0))
            days[day] = (total + centavos, count + 1)
            month = f"{day.year:04d}-{day.month:02d}"
            total, count = months.get(month, (0, 0))
            months[month] = (total + centavos, count + 1)
        return PaidTotals(sorted(((d, *v) for d, v in days.items()), reverse=True),
                          sorted(((m, *v) for m, v in months.items()), reverse=True))

    def refunds(self, payment_ids: Iterable[int]) -> dict[int, Refund]:
        """The refund of each of these payments that was refunded by staff, from the audit log."""
        targets = {f"payment:{payment_id}": payment_id for payment_id in payment_ids}
        if not targets:
            return {}
        rows = self.session.execute(select(AuditEntry).where(
            AuditEntry.action == "payment_refund", AuditEntry.target.in_(targets)).order_by(AuditEntry.id)).scalars()
        return {targets[row.target]: Refund(row.actor, row.at, row.detail or "") for row in rows}

    def status_by_case(self, case_ids: Iterable[int]) -> dict[int, str]:
        """The status of each case's latest payment (cases filed before payments existed have none)."""
        ids = list(case_ids)
        if not ids:
            return {}
        rows = self.session.execute(select(Contract.case_id, Payment.status).join(
            Payment, Payment.contract_id == Contract.id).where(Contract.case_id.in_(ids)).order_by(Payment.id)).all()
        return {int(case_id): str(status) for case_id, status in rows}

    def set_checkout(self, payment_id: int, session_id: str, url: str, now: datetime) -> None:
        self.session.execute(update(Payment).where(Payment.id == payment_id).values(
            provider_session_id=session_id, checkout_url=url, updated_at=now))

    def attach_receipt(self, payment_id: int, document_id: int, now: datetime) -> None:
        """The applicant's transfer receipt, for staff to check; a rejected receipt's reason is cleared."""
        self.session.execute(update(Payment).where(Payment.id == payment_id).values(
            receipt_document_id=document_id, note=None, updated_at=now))

    def reject_receipt(self, payment_id: int, reason: str, actor: str, now: datetime) -> bool:
        """Staff could not match the receipt: it stays pending, waiting for another; False if not pending."""
        result = self.session.execute(update(Payment).where(Payment.id == payment_id, Payment.status == "pending")
                                      .values(receipt_document_id=None, note=reason, confirmed_by=actor,
                                              updated_at=now))
        return bool(getattr(result, "rowcount", 0))

    def transition(self, payment_id: int, status: str, now: datetime, *, actor: str | None = None,
                   provider_payment_id: str | None = None, note: str | None = None) -> bool:
        """Move a payment to `status` if its current status allows it; True only for the call that moved it."""
        values: dict[str, object] = {"status": status, "updated_at": now}
        if status == "paid":
            values["paid_at"] = now
        for key, value in (("confirmed_by", actor), ("provider_payment_id", provider_payment_id), ("note", note)):
            if value is not None:
                values[key] = value
        result = self.session.execute(update(Payment).where(
            Payment.id == payment_id, Payment.status.in_(FINAL_FROM[status])).values(**values))
        return bool(getattr(result, "rowcount", 0))

    def invoice_data(self, conversation_ids: Iterable[int], cipher: Cipher) -> dict[int, InvoiceData]:
        """The invoice data of those conversations whose applicant asked for a CFDI, by conversation."""
        ids = sorted(set(conversation_ids))
        found: dict[int, InvoiceData] = {}
        for conversation_id, blob in self.session.execute(select(Conversation.id, Conversation.data).where(
                Conversation.id.in_(ids))).all() if ids else ():
            data = cipher.decrypt_json(blob, {})
            if data.get("invoice_requested"):
                found[conversation_id] = InvoiceData(str(data.get("invoice_rfc") or data.get("rfc") or ""),
                                                     str(data.get("invoice_regime") or ""),
                                                     str(data.get("invoice_postal_code") or ""))
        return found

    # -- provider events -------------------------------------------------------------------------------
    def record_event(self, provider: str, event_id: str, kind: str, payment_id: int | None, now: datetime) -> bool:
        """Remember a provider event; False when it was seen before (then nothing must be applied again)."""
        inserted = insert_ignoring_duplicates(self.session, PaymentEvent.__table__, {
            "provider": provider, "event_id": event_id, "type": kind, "payment_id": payment_id,
            "received_at": now}, ["provider", "event_id"])
        return inserted is not None


def _contract(row: Contract) -> ContractRecord:
    return ContractRecord(row.id, row.contact_id, row.conversation_id, row.case_id, row.kind, row.plan,
                          row.amount_centavos, row.text_version, row.accepted_at)


def _payment(row: Payment) -> PaymentRecord:
    return PaymentRecord(row.id, row.contract_id, row.method, row.amount_centavos, row.status, row.reference or "",
                         row.provider_session_id, row.checkout_url, row.receipt_document_id, row.confirmed_by,
                         row.note, row.created_at, row.paid_at)
