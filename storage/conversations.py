"""The queries the rest of the code may use. Repositories take a session, return plain records, never commit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Table, TextClause, and_, bindparam, exists, func, select, text, update
from sqlalchemy.orm import Session, aliased

from bot.core.messages import Inbound, Outbound, Recipient
from bot.core.state import DialogState
from storage.crypto import Cipher
from storage.db import notify_workers
from storage.models import CONVERSATIONAL_OUTBOX, Contact, Conversation, Message, SendAttempt
from storage.queues import OUTBOX, ClaimColumns, mark_claimed, release_stale, skip_locked


@cache
def _insert(table: Table, columns: tuple[str, ...], conflict_keys: tuple[str, ...] = ()) -> TextClause:
    """INSERT … [ON CONFLICT (keys) DO NOTHING] RETURNING id, written once per table and column set.

    The syntax is the same on SQLite (3.35+) and PostgreSQL. A plain text statement with typed bind
    parameters is cached by SQLAlchemy, unlike the dialect-specific insert constructs, which are
    recompiled on every call (measured: a third of a turn's time), and it costs a fraction of an ORM add
    and flush.
    """
    conflict = f" ON CONFLICT ({', '.join(conflict_keys)}) DO NOTHING" if conflict_keys else ""
    statement = text(
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
        f"{conflict} RETURNING id"
    )
    return statement.bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))


def _insert_ignoring_duplicates(session: Session, table: Any, values: dict[str, Any],
                                keys: list[str]) -> int | None:
    """Insert a row unless one with the same keys exists; the new id, or None for a duplicate.

    Racing webhooks (two deliveries of one update, two first messages of a new contact) must not fail
    the turn, so the database decides who wins instead of a read-then-write in Python.
    """
    statement = _insert(table, tuple(sorted(values)), tuple(keys))
    result: int | None = session.execute(statement, values).scalar_one_or_none()
    return result


_OUTBOX_CLAIM = ClaimColumns(Message.id, Message.status, Message.claimed_at, working="sending")

# Turn events that put a conversation in the staff queue, with the reason shown there.
WAITING_EVENTS = ("handoff", "needs_review", "offered_human", "bot_error")
DELIVERY_RANK = {"queued": 1, "sending": 1, "sent": 2, "delivered": 3, "read": 4, "undelivered": 5, "failed": 5}


@dataclass(frozen=True, slots=True)
class ContactRecord:
    id: int
    channel: str
    external_id: str
    locale: str | None
    reachable: bool


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    conversation_id: int
    contact_id: int
    channel: str
    recipient: Recipient
    outbound: Outbound
    attempts: int


@dataclass(frozen=True, slots=True)
class StoredReply:
    id: int
    outbound: Outbound
    author: str
    created_at: datetime


class ContactRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def get_or_create(self, inbound: Inbound, now: datetime) -> ContactRecord:
        query = select(Contact).where(Contact.channel == inbound.channel,
                                      Contact.external_id == inbound.contact_ref)
        contact = self.session.execute(query).scalar_one_or_none()
        if contact is None:
            _insert_ignoring_duplicates(self.session, Contact.__table__, {
                "channel": inbound.channel, "external_id": inbound.contact_ref, "created_at": now,
                "reachable": True, "display_name": self.cipher.encrypt_text(inbound.display_name),
                "phone": self.cipher.encrypt_text(inbound.phone),
            }, ["channel", "external_id"])
            contact = self.session.execute(query).scalar_one()
        if inbound.kind != "event":
            contact.last_inbound_at = now
        return ContactRecord(contact.id, contact.channel, contact.external_id, contact.locale,
                             contact.reachable)

    def find(self, channel: str, external_id: str) -> ContactRecord | None:
        contact = self.session.execute(
            select(Contact).where(Contact.channel == channel, Contact.external_id == external_id)
        ).scalar_one_or_none()
        if contact is None:
            return None
        return ContactRecord(contact.id, contact.channel, contact.external_id, contact.locale,
                             contact.reachable)

    def set_opted_out(self, contact_id: int, opted_out: bool) -> None:
        self.session.execute(update(Contact).where(Contact.id == contact_id).values(opted_out=opted_out))

    def set_reachable(self, contact_id: int, reachable: bool) -> None:
        self.session.execute(update(Contact).where(Contact.id == contact_id).values(reachable=reachable))


class ConversationRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def lock(self, contact_id: int, locale: str, now: datetime) -> tuple[int, DialogState]:
        """Load (creating if needed) the contact's conversation, locked until the transaction ends."""
        query = select(Conversation).where(Conversation.contact_id == contact_id).with_for_update()
        row = self.session.execute(query).scalar_one_or_none()
        if row is None:
            _insert_ignoring_duplicates(self.session, Conversation.__table__, {
                "contact_id": contact_id, "locale": locale, "created_at": now, "flow": "", "state": "",
                "history": "[]", "owner": "bot", "misses": 0, "turns": 0,
            }, ["contact_id"])
            row = self.session.execute(query).scalar_one()
        return row.id, self._state(row)

    def lock_by_id(self, conversation_id: int) -> DialogState | None:
        """Lock a conversation staff act on, so a turn running at the same moment waits for them."""
        row = self.session.execute(
            select(Conversation).where(Conversation.id == conversation_id).with_for_update()).scalar_one_or_none()
        return self._state(row) if row else None

    def assign(self, conversation_id: int, staff_id: int | None, owner: str) -> None:
        values: dict[str, Any] = {"assigned_to": staff_id, "owner": owner, "waiting_since": None,
                                  "waiting_reason": None}
        self.session.execute(update(Conversation).where(Conversation.id == conversation_id).values(**values))

    def addressee(self, conversation_id: int) -> tuple[str, str]:
        """The conversation's locale and channel: what a business-initiated message needs to be written."""
        locale, channel = self.session.execute(
            select(Conversation.locale, Contact.channel).join(Contact, Contact.id == Conversation.contact_id)
            .where(Conversation.id == conversation_id)).one()
        return str(locale), str(channel)

    def _state(self, row: Conversation) -> DialogState:
        return DialogState(
            flow=row.flow, state=row.state, data=self.cipher.decrypt_json(row.data, {}),
            history=json.loads(row.history), locale=row.locale, owner=row.owner, misses=row.misses,
            updated_at=_aware(row.updated_at),
        )

    def save(self, conversation_id: int, state: DialogState, events: tuple[str, ...]) -> None:
        row = self.session.get(Conversation, conversation_id)
        assert row is not None
        row.flow, row.state, row.locale = state.flow, state.state, state.locale
        row.data = self.cipher.encrypt_json(state.data)
        curp, phone = state.data.get("curp"), state.data.get("phone") or state.data.get("channel_phone")
        row.curp_hash = self.cipher.search_hash(str(curp)) if curp else None
        row.phone_hash = self.cipher.search_hash(str(phone)[-10:]) if phone else None
        row.history = json.dumps(state.history)
        row.misses = state.misses
        row.turns += 1
        row.updated_at = state.updated_at
        row.owner = state.owner
        waiting = next((e for e in events if e in WAITING_EVENTS), None)
        if waiting and row.waiting_since is None and row.assigned_to is None:
            row.waiting_since, row.waiting_reason = state.updated_at, waiting
        if "returned_to_bot" in events:
            row.waiting_since = row.waiting_reason = row.assigned_to = None


class MessageRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def find_inbound(self, channel: str, provider_id: str) -> int | None:
        return self.session.execute(
            select(Message.id).where(Message.channel == channel, Message.direction == "in",
                                     Message.provider_id == provider_id)
        ).scalar_one_or_none()

    def record_inbound(self, conversation_id: int, inbound: Inbound, now: datetime) -> int | None:
        """Store an inbound message; None when this provider id was already stored (a redelivery)."""
        return _insert_ignoring_duplicates(self.session, Message.__table__, {
            "conversation_id": conversation_id, "channel": inbound.channel, "direction": "in",
            "author": "contact", "provider_id": inbound.provider_id, "status": "received",
            "body": self.cipher.encrypt_json(inbound.to_record()), "created_at": now, "attempts": 0,
        }, ["channel", "direction", "provider_id"])

    def queue(self, conversation_id: int, channel: str, outbound: Outbound, now: datetime, *,
              in_reply_to: int | None = None, author: str = "bot", delivered_inline: bool = False) -> int:
        """Queue a reply for the worker, or record it as sent when it travels in the HTTP answer itself."""
        values = {
            "conversation_id": conversation_id, "channel": channel, "direction": "out", "author": author,
            "in_reply_to": in_reply_to, "body": self.cipher.encrypt_json(outbound.to_record()),
            "status": "sent" if delivered_inline else "queued", "attempts": 0,
            "next_attempt_at": None if delivered_inline else now, "created_at": now,
            "sent_at": now if delivered_inline else None,
        }
        message_id: int = self.session.execute(_insert(Message.__table__, tuple(values)), values
                                               ).scalar_one()
        if not delivered_inline:
            notify_workers(self.session)  # whoever queued it (a turn, staff, the scheduler), on any machine
        return message_id

    def replies_to(self, inbound_id: int) -> list[StoredReply]:
        rows = self.session.execute(
            select(Message).where(Message.in_reply_to == inbound_id).order_by(Message.id)
        ).scalars()
        return [self._reply(row) for row in rows]

    def history_for_contact(self, contact_id: int, after_id: int) -> list[StoredReply]:
        """Both sides of a contact's conversation after `after_id`, as the applicant saw it."""
        rows = self.session.execute(
            select(Message).join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.contact_id == contact_id, Message.id > after_id,
                   Message.direction.in_(("in", "out"))).order_by(Message.id)  # never staff notes
        ).scalars()
        history = []
        for row in rows:
            if row.direction == "out":
                reply = self._reply(row)
                if reply.outbound.kind != "ack":
                    history.append(reply)
                continue
            record = self.cipher.decrypt_json(row.body)
            shown = "📎" if record.get("attachments") or record.get("payload") == "document_ready" else \
                record.get("text") or ""
            if shown:
                history.append(StoredReply(row.id, Outbound(shown), "contact", row.created_at))
        return history

    def _reply(self, row: Message) -> StoredReply:
        return StoredReply(row.id, Outbound.from_record(self.cipher.decrypt_json(row.body)), row.author,
                           row.created_at)

    # -- the outbox --------------------------------------------------------------------------------
    def claim_due(self, now: datetime, limit: int, *, stale_after: timedelta | None = OUTBOX.stale_after,
                  recover: bool = True, limits: Mapping[str, int] | None = None) -> list[OutboxItem]:
        """Claim the next sendable message of each conversation (order per conversation is kept).

        A message is sendable when it is queued and due, and no earlier outbound message of its
        conversation is still queued or being sent. Claims older than `stale_after` belong to a worker
        that died mid-send and are taken over. PostgreSQL skips rows other workers hold. `limits` caps
        the rows of some channels (what their rate limits let go soon), so none is claimed only to wait.
        """
        if recover:
            release_stale(self.session, _OUTBOX_CLAIM, now, stale_after)
        room = dict(limits or {})
        # Conversation first: an applicant's reply must not wait behind a broadcast queued before it.
        head = self._ready(now, limit, text(CONVERSATIONAL_OUTBOX))
        if len(head) < limit:
            picked = {message_id for message_id, _ in head}
            head += [row for row in self._ready(now, limit) if row[0] not in picked][:limit - len(head)]
        chosen: list[int] = []
        full: set[str] = set()
        for message_id, channel in head:
            if room.get(channel, 1) <= 0:
                full.add(channel)
                continue
            if channel in room:
                room[channel] -= 1
            chosen.append(message_id)
        if full and len(head) == limit:  # a rate-limited channel crowds the head: look past it for the others
            taken = set(chosen)
            others = self._ready(now, limit, Message.channel.not_in(full))
            chosen += [message_id for message_id, _ in others if message_id not in taken][:limit - len(chosen)]
        if not chosen:
            return []
        rows = self.session.execute(
            select(Message.id, Message.conversation_id, Message.channel, Message.body, Message.attempts, Contact.id,
                   Contact.external_id, Contact.last_inbound_at, Contact.opted_out, Conversation.locale)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Message.id.in_(chosen))).all()
        mark_claimed(self.session, _OUTBOX_CLAIM, chosen, now)
        found = {row[0]: row for row in rows}
        return [OutboxItem(message_id, conversation_id, contact_id, channel,
                           Recipient(external_id, locale, _aware(last_inbound_at), opted_out),
                           Outbound.from_record(self.cipher.decrypt_json(body)), attempts)
                for message_id, conversation_id, channel, body, attempts, contact_id, external_id, last_inbound_at,
                opted_out, locale in (found[message_id] for message_id in chosen if message_id in found)]

    def _ready(self, now: datetime, limit: int, where: ColumnElement[bool] | TextClause | None = None
               ) -> list[tuple[int, str]]:
        """Due outbound rows not waiting behind an earlier one of their conversation, oldest first: (id, channel).

        Read from an outbox index in its order (`where` narrows it: a channel, or the conversational rows of
        their partial index), so the read stops after `limit` rows instead of joining and sorting the whole
        outbox (a broadcast queues thousands at one moment). PostgreSQL locks what it returns, skipping rows
        another worker holds. Every queued row has a due time: queueing, retries and deferrals all set one.
        """
        earlier = aliased(Message)
        blocked = exists().where(
            earlier.conversation_id == Message.conversation_id, earlier.direction == "out",
            earlier.id < Message.id, earlier.status.in_(("queued", "sending")),
        )
        ready = (select(Message.id, Message.channel)
                 .where(Message.status == "queued", Message.direction == "out", Message.next_attempt_at <= now,
                        ~blocked)
                 .order_by(Message.next_attempt_at).limit(limit))
        if where is not None:
            ready = ready.where(where)
        return [(message_id, channel) for message_id, channel in self.session.execute(skip_locked(ready, of=Message))]

    def mark_sent(self, message_id: int, provider_id: str | None, now: datetime) -> None:
        self._attempt(message_id, now, "sent", provider_id, None)
        self.session.execute(update(Message).where(Message.id == message_id).values(
            status="sent", provider_id=provider_id, sent_at=now, attempts=Message.attempts + 1,
            claimed_at=None, last_error=None))

    def mark_retry(self, message_id: int, error: str, when: datetime, now: datetime) -> None:
        self._attempt(message_id, now, "retry", None, error)
        self.session.execute(update(Message).where(Message.id == message_id).values(
            status="queued", next_attempt_at=when, attempts=Message.attempts + 1, claimed_at=None,
            last_error=error))

    def set_status(self, message_id: int, status: str, reason: str, now: datetime) -> None:
        """Park a message (held for the WhatsApp window, suppressed by an opt-out) with the reason staff see."""
        self._attempt(message_id, now, status, None, reason)
        self.session.execute(update(Message).where(Message.id == message_id).values(
            status=status, claimed_at=None, last_error=reason))

    def release_held(self, contact_id: int, now: datetime) -> int:
        """The applicant wrote: their window is open again, so held messages can go."""
        held = select(Message.id).join(Conversation, Conversation.id == Message.conversation_id).where(
            Conversation.contact_id == contact_id, Message.status == "held")
        result = self.session.execute(update(Message).where(Message.id.in_(held)).values(
            status="queued", next_attempt_at=now, last_error=None))
        return int(getattr(result, "rowcount", 0) or 0)

    def record_delivery(self, channel: str, provider_id: str, status: str, error: str | None) -> bool:
        """A provider's delivery report; statuses only move forward (read after delivered, not back)."""
        row = self.session.execute(select(Message).where(
            Message.channel == channel, Message.direction == "out", Message.provider_id == provider_id)
        ).scalar_one_or_none()
        if row is None:
            return False
        if DELIVERY_RANK.get(status, 0) >= DELIVERY_RANK.get(row.status, 0):
            row.status = status
        if error:
            row.last_error = error
        return True

    def defer(self, message_id: int, when: datetime) -> None:
        """Put a claimed message back for later without counting an attempt (rate limits)."""
        self.session.execute(update(Message).where(Message.id == message_id).values(
            status="queued", next_attempt_at=when, claimed_at=None))

    def mark_failed(self, message_id: int, error: str, now: datetime) -> None:
        self._attempt(message_id, now, "failed", None, error)
        self.session.execute(update(Message).where(Message.id == message_id).values(
            status="failed", attempts=Message.attempts + 1, claimed_at=None, last_error=error))

    def _attempt(self, message_id: int, now: datetime, outcome: str, provider_id: str | None,
                 error: str | None) -> None:
        self.session.add(SendAttempt(message_id=message_id, attempted_at=now, outcome=outcome,
                                     provider_id=provider_id, error=error))

    def next_due(self) -> datetime | None:
        return self.session.execute(select(func.min(Message.next_attempt_at)).where(
            Message.direction == "out", Message.status == "queued")).scalar_one_or_none()

    def outbox_depth(self) -> int:
        return self.outbox_backlog()[0]

    def outbox_backlog(self) -> tuple[int, datetime | None]:
        """How many outbound messages wait to be sent, and since when the oldest has waited."""
        depth, oldest = self.session.execute(
            select(func.count(), func.min(Message.created_at)).where(
                and_(Message.direction == "out", Message.status.in_(("queued", "sending"))))).one()
        return int(depth), _aware(oldest)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything we store is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
