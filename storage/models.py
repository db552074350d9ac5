"""The tables. Personal content (message bodies, collected data) is stored encrypted by the repositories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")
# Written as literals, in the index and in the query alike: a planner uses a partial index only when the
# query's own condition matches its predicate, which a bound parameter cannot.
CONVERSATIONAL_OUTBOX = "status = 'queued' AND author <> 'system'"


class UTCDateTime(TypeDecorator[datetime]):
    """Moments stored in UTC and read back aware: SQLite keeps no offset, so a local time written as is
    would come back hours off. Naive values are taken as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Contact(Base):
    """A person on one channel (a Telegram chat, a WhatsApp number, a web-chat browser)."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "external_hash", name="uq_contacts_channel_external"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    # The channel's id of the person (a WhatsApp number, a Telegram chat id, a web-chat session): looked up
    # and kept unique by its keyed hash (Cipher.identifier_hash; the column kept the width it had when it
    # held the id itself), stored only encrypted for the senders.
    external_hash: Mapped[str] = mapped_column(String(128))
    external_ref: Mapped[bytes | None] = mapped_column(LargeBinary)
    display_name: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone: Mapped[bytes | None] = mapped_column(LargeBinary)
    locale: Mapped[str | None] = mapped_column(String(10))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)  # no business-initiated messages
    # Erased at the applicant's request: the row (the channel id) goes once the confirmation is sent.
    erase_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Conversation(Base):
    """Where a contact is in the dialog and what they have told us so far."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), unique=True)
    flow: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str] = mapped_column(String(60), default="")
    data: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted JSON
    history: Mapped[str] = mapped_column(Text, default="[]")
    locale: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(10), default="bot")
    misses: Mapped[int] = mapped_column(Integer, default=0)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waiting_reason: Mapped[str | None] = mapped_column(String(30))
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL", name="fk_conversations_assigned_to_staff"), index=True)
    curp_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # keyed hash, for staff search
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)


class Message(Base):
    """One message in or out. Outbound rows with status `queued` are the outbox."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "direction", "provider_id", name="uq_messages_provider"),
        Index("ix_messages_outbox", "status", "next_attempt_at"),
        # Replies and staff messages, read before a broadcast's thousands of reminders (author "system").
        Index("ix_messages_conversational_outbox", "next_attempt_at", postgresql_where=text(CONVERSATIONAL_OUTBOX),
              sqlite_where=text(CONVERSATIONAL_OUTBOX)),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_in_reply_to", "in_reply_to"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(8))  # "in" | "out" | "note"
    author: Mapped[str] = mapped_column(String(10))  # "contact" | "bot" | "staff" | "system"
    provider_id: Mapped[str | None] = mapped_column(String(128))
    in_reply_to: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted JSON
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QueuedInbound(Base):
    """A provider delivery that was acknowledged but whose turn has not run yet.

    The webhook only inserts this row (its unique provider id drops redeliveries) and answers, so the
    acknowledgement never waits for a turn; a worker runs the turn and deletes the row in the same
    transaction. `chat_key` groups one chat's rows so they are taken strictly in arrival order.
    """

    __tablename__ = "inbound_queue"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_inbound_queue_provider"),
        Index("ix_inbound_queue_chat", "chat_key", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(128))
    chat_key: Mapped[str] = mapped_column(String(64))  # keyed hash of channel and chat: no identifier in clear
    body: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted JSON of the parsed delivery
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SendAttempt(Base):
    """Every try at sending an outbound message, with what the provider answered."""

    __tablename__ = "send_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(12))  # "sent" | "retry" | "failed"
    provider_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)


class Consent(Base):
    """An acceptance (or refusal) of a versioned text, with the message that carried it."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # terms | privacy | financial | health | reminders
    version: Mapped[str] = mapped_column(String(20))
    accepted: Mapped[bool] = mapped_column(Boolean)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Case(Base):
    """An enrollment case: the data as confirmed, the eligibility result, and where it stands."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    folio: Mapped[str | None] = mapped_column(String(20), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"),
                                                        index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted JSON snapshot
    eligibility: Mapped[str] = mapped_column(String(16))  # likely | review | not_for_you
    eligibility_reasons: Mapped[str] = mapped_column(Text, default="[]")  # msgids, JSON
    flags: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of review flags
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseEvent(Base):
    """The history of a case: every status it went through, when, and who moved it."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(120))  # "applicant", "bot" or a staff email
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Document(Base):
    """An uploaded file that passed the checks; the bytes live encrypted in the document store."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("access_token", name="uq_documents_access_token"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    slot: Mapped[str | None] = mapped_column(String(30))
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A random handle for inbox URLs: ids are guessable, this is not (and the URL still needs a login).
    access_token: Mapped[str | None] = mapped_column(String(40))
    review_status: Mapped[str] = mapped_column(String(12), default="pending",
                                               server_default="pending")  # pending | approved | rejected
    review_reason: Mapped[str | None] = mapped_column(Text)
    former_slot: Mapped[str | None] = mapped_column(String(30))  # the slot a rejected document was sent for


class ConversationLabel(Base):
    """A short label staff put on a conversation ("urgente", "llamar"), to sort their work (issue 18)."""

    __tablename__ = "conversation_labels"
    __table_args__ = (UniqueConstraint("conversation_id", "label", name="uq_conversation_labels"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(40))


class StaffRead(Base):
    """The last message a staff member saw in a conversation: what is newer is unread for them."""

    __tablename__ = "staff_reads"
    __table_args__ = (UniqueConstraint("staff_id", "conversation_id", name="uq_staff_reads"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    last_message_id: Mapped[int] = mapped_column(Id)


class DataCorrection(Base):
    """Staff corrected an applicant's data: which field, the change (encrypted: old and new), who and why."""

    __tablename__ = "data_corrections"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    field: Mapped[str] = mapped_column(String(40))
    change: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class DocumentReading(Base):
    """What the worker read on a document and how it compares with what the applicant typed (issue 21).

    `fields` (the values read and compared) is personal and encrypted; `summary` holds only per-field outcomes and
    confidences, no values, so that with staff's `decision` it can stay, anonymous, to tune the thresholds after
    the document and its values are gone (erasure, retention).
    """

    __tablename__ = "document_readings"
    __table_args__ = (UniqueConstraint("document_id", name="uq_document_readings_document"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"),
                                                        index=True)
    slot: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(12))  # reading | done
    outcome: Mapped[str | None] = mapped_column(String(12))  # match | mismatch | not_read
    method: Mapped[str | None] = mapped_column(String(12))  # pdf_text | ocr
    fields: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted JSON: values read and compared
    summary: Mapped[str] = mapped_column(Text, default="{}")  # JSON {field: [outcome, confidence]}, no values
    asked: Mapped[bool] = mapped_column(Boolean, default=False)  # the applicant got the question
    milliseconds: Mapped[int | None] = mapped_column(Integer)
    decision: Mapped[str | None] = mapped_column(String(12))  # staff's review: approved | rejected
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MediaJob(Base):
    """A file an applicant sent on a channel that must be downloaded (Telegram getFile, Twilio MediaUrl)
    before the document checks can run. The worker claims these like outbox rows."""

    __tablename__ = "media_jobs"
    __table_args__ = (Index("ix_media_jobs_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    ref: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted: media URLs can carry identifiers
    content_type: Mapped[str | None] = mapped_column(String(80))
    size: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))  # queued | fetching | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MessageAudio(Base):
    """A voice note or audio file an applicant sent: its bytes are a `Document` (encrypted, kept and erased like
    every document), this row ties it to the message it came in and says how long it plays."""

    __tablename__ = "message_audio"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    duration: Mapped[int | None] = mapped_column(Integer)  # seconds
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Staff(Base):
    """A person of the business who logs in to the inbox."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(10))  # admin | agent
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginAttempt(Base):
    """A failed login, kept briefly to slow down password guessing (per email and per address)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffSession(Base):
    """One logged-in browser of a staff member. The cookie holds a random id; only its keyed hash is here,
    so a copy of the database cannot be replayed as a login. Deleting the row ends the session."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    address: Mapped[str | None] = mapped_column(String(64))  # the client address at login, for the admin list
    user_agent: Mapped[str | None] = mapped_column(String(200))


class CannedResponse(Base):
    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who did or saw what, when: staff actions, document views and personal-data views."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Subscription(Base):
    """The optional payment-reminder membership of one applicant."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    frequency: Mapped[str] = mapped_column(String(12))  # monthly | bimonthly | semiannual | annual
    first_period: Mapped[str] = mapped_column(String(7))  # "2026-12": the first month with a deadline
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Billing (migration 0017): "legacy" (subscribed free before memberships were sold: no end until staff act),
    # "active" (paid until `paid_until`), "lapsed", "cancelled", "refunded". Reminders go only while `active`
    # is true and `paid_until` (None for legacy) has not passed.
    status: Mapped[str] = mapped_column(String(12), default="legacy", server_default="legacy")
    plan: Mapped[str | None] = mapped_column(String(32))  # a membership key of flows/data/prices.toml
    paid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="SET NULL"))


class Reminder(Base):
    """One reminder of one period, sent or dropped: the unique key is what makes it happen once."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("subscription_id", "period", "kind", name="uq_reminders_once"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(12))  # before_5 | before_1 | due | missed
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10))  # sent | dropped | skipped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PeriodPayment(Base):
    """What we know about paying one period: a línea de captura sent, a proof received, verified paid."""

    __tablename__ = "period_payments"
    __table_args__ = (UniqueConstraint("subscription_id", "period", name="uq_period_payments"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16))  # line_sent | proof_received | paid
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Nudge(Base):
    """A reminder to finish an abandoned enrollment; `anchor` is the applicant's last message time."""

    __tablename__ = "nudges"
    __table_args__ = (UniqueConstraint("conversation_id", "anchor", "kind", name="uq_nudges_once"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    anchor: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(8))  # first | second
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Email(Base):
    """An email to an applicant (the enrollment receipt): retried by the worker, visible in the inbox."""

    __tablename__ = "emails"
    __table_args__ = (Index("ix_emails_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    message: Mapped[bytes] = mapped_column(LargeBinary)  # the encrypted RFC 5322 message
    status: Mapped[str] = mapped_column(String(10))  # queued | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RightsRequest(Base):
    """An ARCO request (access, rectification, cancellation, opposition) with its legal deadline.

    It names the case folio, never the person: after an erasure nothing else identifies them.
    """

    __tablename__ = "rights_requests"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # access | rectification | cancellation | opposition
    channel: Mapped[str] = mapped_column(String(20))
    folio: Mapped[str | None] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[str | None] = mapped_column(Text)


class Contract(Base):
    """What an applicant accepted to buy: the service or a membership plan, at which price, under which text."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"),
                                                        index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # service | membership
    plan: Mapped[str] = mapped_column(String(32))  # a key of flows/data/prices.toml
    amount_centavos: Mapped[int] = mapped_column(BigInteger)  # MXN, IVA included
    text_version: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Payment(Base):
    """One attempt to pay a contract, by one method; `reference` is what the applicant quotes on a transfer."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # stripe | spei
    amount_centavos: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | paid | failed | expired | refunded
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    provider_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    receipt_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    confirmed_by: Mapped[str | None] = mapped_column(String(120))  # a staff email, or "stripe"
    note: Mapped[str | None] = mapped_column(Text)  # why staff rejected a receipt
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaymentEvent(Base):
    """A provider event already applied: its id is unique, so a retried or replayed event changes nothing."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
