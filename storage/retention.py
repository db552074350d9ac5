"""Retention in storage: what the worker's housekeeping deletes, each function returning how much it removed.

Documents of finished cases and abandoned enrollments do not stay forever; their files go with their rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.document_readings import forget_readings
from storage.files import DocumentStore
from storage.models import Case, Contract, Conversation, Document, Message, Payment, QueuedInbound, Subscription
from storage.rights import FINAL_STATUSES
from storage.subscriptions import MembershipRepository

# A pending payment shields its conversation from the purge for this long at most: an OXXO voucher expires in
# days and a transfer receipt is checked by staff within days, so a payment still "pending" a month after it was
# opened is one nobody will complete; without a bound it would keep the applicant's data forever.
PENDING_PAYMENT_SHIELD = timedelta(days=30)


def delete_finished_case_documents(session: Session, store: DocumentStore, finished_before: datetime) -> int:
    """Delete the documents (files and rows) of cases that reached a final status before `finished_before`."""
    finished = select(Case.id).where(Case.status.in_(FINAL_STATUSES), Case.updated_at < finished_before)
    documents = list(session.execute(select(Document).where(Document.case_id.in_(finished))).scalars())
    forget_readings(session, document_ids=[document.id for document in documents])
    for document in documents:
        store.delete(document.storage_name)
        session.delete(document)
    return len(documents)


def purge_abandoned_conversations(session: Session, cipher: Cipher, store: DocumentStore,
                                  idle_since: datetime, now: datetime | None = None) -> int:
    """Empty the enrollments left without a case and untouched since `idle_since`.

    Their documents, messages and collected data go; the conversation row stays, reset, so the applicant
    starts afresh if they ever come back. Their reminder subscription ends too: with the data gone a
    reminder would have no amount, and it was kept for an enrollment that no longer exists.

    Not abandoned, however long the silence: a conversation waiting for a payment (an accepted contract whose
    payment is pending: a transfer being checked, an OXXO voucher not yet paid; only for PENDING_PAYMENT_SHIELD
    after the payment was opened), and a member's whose paid
    membership is running (we owe them the reminders they paid for).
    """
    now = now or datetime.now(UTC)
    has_case = select(Case.id).where(Case.conversation_id == Conversation.id).exists()
    awaiting_payment = select(Payment.id).join(Contract, Contract.id == Payment.contract_id).where(
        Contract.conversation_id == Conversation.id, Payment.status == "pending",
        Payment.created_at >= now - PENDING_PAYMENT_SHIELD).exists()
    paid_member = select(Subscription.id).where(Subscription.conversation_id == Conversation.id,
                                                Subscription.active.is_(True), Subscription.status == "active").exists()
    abandoned = list(session.execute(select(Conversation.id).where(
        ~has_case, ~awaiting_payment, ~paid_member, Conversation.state != "",
        Conversation.updated_at < idle_since)).scalars())
    for conversation_id in abandoned:
        forget_readings(session, conversation_id=conversation_id)
        for document in session.execute(select(Document).where(
                Document.conversation_id == conversation_id)).scalars():
            store.delete(document.storage_name)
            session.delete(document)
        session.execute(delete(Message).where(Message.conversation_id == conversation_id))
        session.execute(update(Conversation).where(Conversation.id == conversation_id).values(
            data=cipher.encrypt_json({}), state="", flow="", history="[]", curp_hash=None, phone_hash=None))
    MembershipRepository(session).end_for_conversations(abandoned, now)
    return len(abandoned)


def drop_failed_deliveries(session: Session, failed_before: datetime) -> int:
    """Delete the deliveries set aside before `failed_before` because their turn kept failing."""
    result = session.execute(delete(QueuedInbound).where(QueuedInbound.failed_at < failed_before))
    return int(getattr(result, "rowcount", 0) or 0)
