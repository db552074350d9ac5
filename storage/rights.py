"""Data rights in storage: ARCO requests with their legal deadline, and erasure of one applicant.

Erasure removes every personal value (collected data, message texts, documents and their files, emails,
reminders) and keeps cases only as anonymous statistics. The contact row itself, which holds the channel
id, goes once the confirmation message has left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from storage.conversations import contact_external_id
from storage.crypto import Cipher
from storage.db import checkpoint_after_commit
from storage.document_readings import forget_readings
from storage.enrollment import CaseRepository, ConsentRepository
from storage.files import DocumentStore
from storage.inbound_queue import chat_key
from storage.models import (
    Case,
    CaseEvent,
    Consent,
    Contact,
    Conversation,
    Document,
    Email,
    Message,
    QueuedInbound,
    RightsRequest,
    Subscription,
)

BUSINESS_DAYS_TO_ANSWER = 20  # LFPDPPP art. 31
FINAL_STATUSES = ("enrolled", "rejected", "cancelled")


def add_business_days(start: datetime, days: int) -> datetime:
    """Weekdays only; public holidays are not counted out (a safe, slightly early deadline)."""
    moment = start
    while days > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


@dataclass(frozen=True, slots=True)
class RightsRecord:
    id: int
    kind: str
    channel: str
    folio: str | None
    requested_at: datetime
    due_at: datetime
    completed_at: datetime | None
    detail: str | None


class RightsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, kind: str, channel: str, folio: str | None, now: datetime, *, completed: bool,
               detail: str | None = None) -> None:
        self.session.add(RightsRequest(kind=kind, channel=channel, folio=folio, requested_at=now,
                                       due_at=add_business_days(now, BUSINESS_DAYS_TO_ANSWER),
                                       completed_at=now if completed else None, detail=detail))

    def recent(self, limit: int = 200) -> list[RightsRecord]:
        rows = self.session.execute(select(RightsRequest).order_by(RightsRequest.completed_at.is_not(None),
                                                                   RightsRequest.due_at).limit(limit)).scalars()
        return [RightsRecord(r.id, r.kind, r.channel, r.folio, r.requested_at, r.due_at, r.completed_at, r.detail)
                for r in rows]


def export_applicant(session: Session, cipher: Cipher, contact_id: int,
                     issued_at: datetime | None = None) -> dict[str, Any] | None:
    """Everything held about one applicant, decrypted, for their own download (ARCO access).

    None if unknown, erased (even before the contact row is purged), or created after `issued_at`, the
    moment the link was signed: a link never reaches a later contact that reuses the id.
    """
    contact = session.get(Contact, contact_id)
    conversation = session.execute(select(Conversation).where(Conversation.contact_id == contact_id)
                                   ).scalar_one_or_none()
    if contact is None or conversation is None or contact.erase_pending:
        return None
    if issued_at is not None and contact.created_at > issued_at + timedelta(seconds=1):  # whole-second stamps
        return None
    data = {k: v for k, v in cipher.decrypt_json(conversation.data, {}).items() if not k.startswith("_")}
    cases = CaseRepository(session, cipher)
    case = cases.latest_for_conversation(conversation.id)
    documents = session.execute(select(Document).where(Document.conversation_id == conversation.id)).scalars()
    return {
        "channel": contact.channel,
        "name_on_channel": cipher.decrypt_text(contact.display_name),
        "phone_on_channel": cipher.decrypt_text(contact.phone),
        "language": conversation.locale,
        "collected_data": data,
        "case": {"folio": case.folio, "status": case.status,
                 "history": [{"status": s, "at": at.isoformat()} for s, _, at in cases.history(case.id)]}
        if case else None,
        "consents": [{"kind": c.kind, "version": c.version, "accepted": c.accepted,
                      "at": c.recorded_at.isoformat()} for c in ConsentRepository(session).for_contact(contact_id)],
        "documents": [{"slot": d.slot, "type": d.content_type, "received": d.created_at.isoformat()}
                      for d in documents],
    }


def erase_applicant(session: Session, cipher: Cipher, store: DocumentStore, contact_id: int,
                    conversation_id: int, keep_message_id: int, now: datetime) -> tuple[str | None, bool]:
    """Erase one applicant; returns the folio of their latest case and whether it was still in progress."""
    folio, in_progress = None, False
    for case in session.execute(select(Case).where(Case.contact_id == contact_id)).scalars():
        folio = case.folio
        if case.status not in FINAL_STATUSES:
            in_progress = True
            case.status = "cancelled"
            session.add(CaseEvent(case_id=case.id, status="cancelled", actor="applicant",
                                  note="personal data erased at the applicant's request", at=now))
        case.data = None  # the case stays, as an anonymous count with its statuses and flags
        case.updated_at = now
        session.execute(delete(Email).where(Email.case_id == case.id))
    forget_readings(session, conversation_id=conversation_id)  # what was read on the documents goes too
    for document in session.execute(select(Document).where(Document.conversation_id == conversation_id)).scalars():
        store.delete(document.storage_name)
        session.delete(document)
    session.execute(update(Case).where(Case.contact_id == contact_id).values(contact_id=None, conversation_id=None))
    session.execute(delete(Message).where(Message.conversation_id == conversation_id, Message.id != keep_message_id,
                                          or_(Message.in_reply_to.is_(None), Message.in_reply_to != keep_message_id)))
    session.execute(update(Message).where(Message.id == keep_message_id).values(body=cipher.encrypt_json({})))
    session.execute(delete(Subscription).where(Subscription.contact_id == contact_id))
    session.execute(update(Consent).where(Consent.contact_id == contact_id).values(message_id=None))
    session.execute(update(Conversation).where(Conversation.id == conversation_id).values(
        data=cipher.encrypt_json({}), history="[]", waiting_since=None, waiting_reason=None, curp_hash=None,
        phone_hash=None))
    contact = session.get(Contact, contact_id)
    if contact is not None:  # deliveries set aside after failing turns still hold what they said
        external_id = contact_external_id(cipher, contact.external_ref)
        session.execute(delete(QueuedInbound).where(
            QueuedInbound.chat_key == chat_key(cipher, contact.channel, external_id),
            QueuedInbound.failed_at.is_not(None)))
    session.execute(update(Contact).where(Contact.id == contact_id).values(
        display_name=None, phone=None, erase_pending=True, opted_out=True))
    checkpoint_after_commit(session)  # SQLite: the erased rows' old page images leave the write-ahead log
    return folio, in_progress


def purge_erased_contacts(session: Session) -> int:
    """Remove contacts whose erasure was confirmed to them: nothing of theirs is left to send."""
    waiting = select(Message.id).join(Conversation, Conversation.id == Message.conversation_id).where(
        Conversation.contact_id == Contact.id, Message.direction == "out",
        Message.status.in_(("queued", "sending"))).exists()
    ids = list(session.execute(select(Contact.id).where(Contact.erase_pending.is_(True), ~waiting)).scalars())
    if ids:
        session.execute(delete(Contact).where(Contact.id.in_(ids)))
        checkpoint_after_commit(session)
    return len(ids)
