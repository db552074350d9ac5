"""Messages, in and out: the transcript, the outbox the dispatcher claims from, and delivery receipts."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, TextClause, and_, bindparam, exists, func, select, text, update
from sqlalchemy.orm import Session, aliased

from bot.core.messages import Inbound, Outbound, Recipient
from storage.conversations import contact_external_id, sealed_provider_id
from storage.crypto import Cipher
from storage.db import notify_workers
from storage.models import CONVERSATIONAL_OUTBOX, Contact, Conversation, Message, SendAttempt
from storage.queues import OUTBOX, ClaimColumns, mark_claimed, release_stale, skip_locked
from storage.sql import cached_insert, insert_ignoring_duplicates

_OUTBOX_CLAIM = ClaimColumns(Message.id, Message.status, Message.claimed_at, working="sending")
DELIVERY_RANK = {"queued": 1, "sending": 1, "sent": 2, "delivered": 3, "read": 4, "undelivered": 5, "failed": 5}


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    conversation_id: int
    contact_id: int
    channel: str
    recipient: Recipient
    outbound: Outbound
    attempts: int
    urgent: bool = True  # a reply or a staff message, not a broadcast (author "system"): it goes first
    author: str = "bot"
    queued_at: datetime | None = None  # the bubbles of one answer share it: the turn queued them together
    followed: bool = True  # when claimed, a later message of its conversation was queued (maybe one to join)
    due_at: datetime | None = None  # when it fell due: queued, or its retry's time (it has waited since)


@dataclass(frozen=True, slots=True)
class StoredReply:
    id: int
    outbound: Outbound
    author: str
    created_at: datetime


class MessageRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def find_inbound(self, inbound: Inbound) -> int | None:
        provider_id = sealed_provider_id(self.cipher, inbound.provider_id, inbound.contact_ref)
        return self.session.execute(
            select(Message.id).where(Message.channel == inbound.channel, Message.direction == "in",
                                     Message.provider_id == provider_id)
        ).scalar_one_or_none()

    def record_inbound(self, conversation_id: int, inbound: Inbound, now: datetime) -> int | None:
        """Store an inbound message; None when this provider id was already stored (a redelivery)."""
        return insert_ignoring_duplicates(self.session, Message.__table__, {
            "conversation_id": conversation_id, "channel": inbound.channel, "direction": "in",
            "author": "contact", "status": "received",
            "provider_id": sealed_provider_id(self.cipher, inbound.provider_id, inbound.contact_ref),
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
        message_id: int = self.session.execute(cached_insert(Message.__table__, tuple(values)), values
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
                  recover: bool = True, limits: Mapping[str, int] | None = None,
                  conversation_id: int | None = None, queued_by: datetime | None = None,
                  keep: Collection[int] = ()) -> list[OutboxItem]:
        """Claim the next sendable message of each conversation (order per conversation is kept).

        A message is sendable when it is queued and due, and no earlier outbound message of its
        conversation is still queued or being sent. Claims older than `stale_after` belong to a worker
        that died mid-send and are taken over. PostgreSQL skips rows other workers hold. `limits` caps
        the rows of some channels (what their rate limits let go soon), so none is claimed only to wait.
        `conversation_id` claims that conversation's next message only, and with `queued_by` only if it was
        queued by then: a sender goes on with the rest of an answer, while a newer answer waits its turn in line.
        `keep`: messages this worker is still sending, whose claims are not stale however old.
        """
        if recover:
            release_stale(self.session, _OUTBOX_CLAIM, now, stale_after, keep)
        if conversation_id is not None:
            only = Message.conversation_id == conversation_id
            if queued_by is not None:
                only = and_(only, Message.created_at <= queued_by)
            return self._claim([message_id for message_id, _ in self._ready(now, 1, only)], now)
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
        return self._claim(chosen, now)

    def any_due(self, now: datetime) -> bool:
        """Whether a message is due and free to go now (a cheap look: `claim_due` decides what to claim)."""
        return self.session.execute(select(Message.id).where(_SENDABLE).limit(1), {"now": now}).first() is not None

    def following(self, item: OutboxItem, now: datetime, limit: int) -> list[tuple[int, Outbound, str]]:
        """The messages queued right after `item` in its conversation and due now: (id, outbound, author), in order.

        Read, not claimed: the dispatcher decides which of them to send joined with `item` (see `claim_following`).
        The run stops at the first later message that is not queued and due.
        """
        rows = self.session.execute(
            select(Message.id, Message.body, Message.author, Message.status, Message.next_attempt_at)
            .where(Message.conversation_id == item.conversation_id, Message.direction == "out", Message.id > item.id)
            .order_by(Message.id).limit(limit)).all()
        run: list[tuple[int, Outbound, str]] = []
        for message_id, body, author, status, due in rows:
            if status != "queued" or due is None or due > now:
                break
            run.append((message_id, Outbound.from_record(self.cipher.decrypt_json(body)), author))
        return run

    def claim_following(self, ids: Sequence[int], now: datetime) -> bool:
        """Claim the messages `following` returned, to be sent joined with the one before them.

        All or none: if any of them is no longer queued, nothing is claimed and False is returned.
        """
        if not ids:
            return True
        claimed = self.session.execute(
            update(Message).where(Message.id.in_(ids), Message.status == "queued")
            .values(status="sending", claimed_at=now).returning(Message.id)).scalars().all()
        if len(claimed) == len(ids):
            return True
        self.defer_all(claimed, now)
        return False

    def defer_all(self, ids: Sequence[int], when: datetime) -> None:
        """Put claimed messages back without counting an attempt (see `defer`)."""
        if ids:
            self.session.execute(update(Message).where(Message.id.in_(ids)).values(
                status="queued", next_attempt_at=when, claimed_at=None))

    def _claim(self, chosen: list[int], now: datetime) -> list[OutboxItem]:
        """Mark the chosen rows as being sent and read them as items, in the chosen order."""
        if not chosen:
            return []
        rows = self.session.execute(
            select(Message.id, Message.conversation_id, Message.channel, Message.body, Message.attempts, Contact.id,
                   Contact.external_ref, Contact.last_inbound_at, Contact.opted_out, Conversation.locale,
                   Message.author, Message.created_at, _FOLLOWED, Message.next_attempt_at)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Message.id.in_(chosen))).all()
        mark_claimed(self.session, _OUTBOX_CLAIM, chosen, now)
        found = {row[0]: row for row in rows}
        return [OutboxItem(message_id, conversation_id, contact_id, channel,
                           Recipient(contact_external_id(self.cipher, external_ref), locale, last_inbound_at,
                                     opted_out),
                           Outbound.from_record(self.cipher.decrypt_json(body)), attempts, author != "system", author,
                           queued_at, bool(followed), due_at)
                for message_id, conversation_id, channel, body, attempts, contact_id, external_ref, last_inbound_at,
                opted_out, locale, author, queued_at, followed, due_at in
                (found[message_id] for message_id in chosen if message_id in found)]

    def oldest_waiting_reply(self, channel: str, now: datetime, besides: int) -> datetime | None:
        """Since when the longest-waiting reply or staff message of another conversation than `besides` has been
        due on `channel` and free to go (None when none is): how far the channel's rate is behind.

        Read only (nothing is locked): the dispatcher asks it to decide whether an answer's bubbles go joined
        rather than each taking a slot others are waiting for (see `bot.worker.joining`).
        """
        return self.session.execute(
            select(Message.next_attempt_at).where(_SENDABLE, text(CONVERSATIONAL_OUTBOX),
                                                  Message.channel == channel, Message.conversation_id != besides)
            .order_by(Message.next_attempt_at).limit(1), {"now": now}).scalar_one_or_none()

    def _ready(self, now: datetime, limit: int, where: ColumnElement[bool] | TextClause | None = None
               ) -> list[tuple[int, str]]:
        """Due outbound rows not waiting behind an earlier one of their conversation, oldest first: (id, channel).

        Read from an outbox index in its order (`where` narrows it: a channel, or the conversational rows of
        their partial index), so the read stops after `limit` rows instead of joining and sorting the whole
        outbox (a broadcast queues thousands at one moment). PostgreSQL locks what it returns, skipping rows
        another worker holds. Every queued row has a due time: queueing, retries and deferrals all set one.
        """
        ready = select(Message.id, Message.channel).where(_SENDABLE).order_by(Message.next_attempt_at).limit(limit)
        if where is not None:
            ready = ready.where(where)
        return [(message_id, channel) for message_id, channel in
                self.session.execute(skip_locked(ready, of=Message), {"now": now})]

    def mark_sent(self, message_id: int, provider_id: str | None, now: datetime, *, chat: str) -> None:
        """Record a send to `chat` (the recipient's channel id). A provider id of the form `<chat>:<n>`
        (Telegram's) is sealed, so the chat is not kept in clear."""
        if provider_id:
            provider_id = sealed_provider_id(self.cipher, provider_id, chat)
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
        self.defer_all([message_id], when)

    def mark_failed(self, message_id: int, error: str, now: datetime) -> None:
        self._attempt(message_id, now, "failed", None, error)
        self.session.execute(update(Message).where(Message.id == message_id).values(
            status="failed", attempts=Message.attempts + 1, claimed_at=None, last_error=error))

    def _attempt(self, message_id: int, now: datetime, outcome: str, provider_id: str | None,
                 error: str | None) -> None:
        self.session.add(SendAttempt(message_id=message_id, attempted_at=now, outcome=outcome,
                                     provider_id=provider_id, error=error))

    def next_due(self, after: datetime | None = None) -> datetime | None:
        """When the next queued message falls due; with `after`, the first due time later than it."""
        query = select(func.min(Message.next_attempt_at)).where(Message.direction == "out", Message.status == "queued")
        if after is not None:
            query = query.where(Message.next_attempt_at > after)
        return self.session.execute(query).scalar_one_or_none()

    def outbox_depth(self) -> int:
        return self.outbox_backlog()[0]

    def outbox_backlog(self) -> tuple[int, datetime | None]:
        """How many outbound messages wait to be sent, and since when the oldest has waited."""
        depth, oldest = self.session.execute(
            select(func.count(), func.min(Message.created_at)).where(
                and_(Message.direction == "out", Message.status.in_(("queued", "sending"))))).one()
        return int(depth), oldest


def _sendable_rows() -> ColumnElement[bool]:
    """Queued outbound rows that are due by the `now` parameter and not waiting behind an earlier one of their
    conversation. Built once: the dispatcher asks several times per message sent, and building the aliased
    subquery anew each time cost more than running it."""
    earlier = aliased(Message)
    blocked = exists().where(
        earlier.conversation_id == Message.conversation_id, earlier.direction == "out",
        earlier.id < Message.id, earlier.status.in_(("queued", "sending")),
    )
    return and_(Message.status == "queued", Message.direction == "out",
                Message.next_attempt_at <= bindparam("now", type_=Message.next_attempt_at.type), ~blocked)


_SENDABLE = _sendable_rows()


def _followed() -> ColumnElement[bool]:
    """Whether a later outbound message of the row's conversation is queued: only then can bubbles be joined
    to it, and the dispatcher looks for them (most answers are one bubble: no query for those)."""
    later = aliased(Message)
    return exists().where(later.conversation_id == Message.conversation_id, later.direction == "out",
                          later.id > Message.id, later.status == "queued")


_FOLLOWED = _followed()
