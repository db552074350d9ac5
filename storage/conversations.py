"""Contacts and their conversations: who writes to us, and where each conversation stands in the dialog."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core.events import WAITING_EVENTS, DialogEvent
from bot.core.messages import Inbound
from bot.core.state import DialogState
from storage.crypto import Cipher
from storage.models import Contact, Conversation
from storage.sql import insert_ignoring_duplicates


@dataclass(frozen=True, slots=True)
class ContactRecord:
    id: int
    channel: str
    external_id: str
    locale: str | None
    reachable: bool


def contact_identity(cipher: Cipher, external_id: str) -> dict[str, Any]:
    """The stored form of a channel id: its keyed hash to find and keep it unique, encrypted to send to it."""
    return {"external_hash": cipher.identifier_hash(external_id),
            "external_ref": cipher.encrypt(external_id.encode("utf-8", "surrogatepass"))}


def contact_external_id(cipher: Cipher, token: bytes | None) -> str:
    """The channel id a contact row holds encrypted ("" if it has none)."""
    return "" if token is None else cipher.decrypt(bytes(token)).decode("utf-8", "surrogatepass")


def sealed_provider_id(cipher: Cipher, provider_id: str, external_id: str) -> str:
    """A provider id that starts with the contact's own channel id (`<chat>:<n>`: what Telegram's sent messages
    and the web chat's messages are known by) keeps its tail, and the chat becomes a short keyed hash: unique
    and findable still, with no chat id in clear. Any other provider id (Twilio SIDs, Telegram update ids) as is."""
    head, colon, tail = provider_id.partition(":")
    if colon and head == external_id:
        return f"{cipher.identifier_hash(external_id)[:PROVIDER_HASH_DIGITS]}:{tail}"
    return provider_id


PROVIDER_HASH_DIGITS = 16  # 64 bits: the prefix only has to tell one person's chat from another's


class ContactRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def get_or_create(self, inbound: Inbound, now: datetime) -> ContactRecord:
        """The sender's contact, created on their first message; a message (not an event) is noted as their
        latest, which opens WhatsApp's 24-hour window. A known contact, every turn but the first, costs one
        statement: the update hands back what the turn needs."""
        identity = (Contact.channel == inbound.channel,
                    Contact.external_hash == self.cipher.identifier_hash(inbound.contact_ref))
        columns = (Contact.id, Contact.channel, Contact.locale, Contact.reachable)
        find = (update(Contact).where(*identity).values(last_inbound_at=now).returning(*columns)
                if inbound.kind != "event" else select(*columns).where(*identity))
        row = self.session.execute(find).first()
        if row is None:
            insert_ignoring_duplicates(self.session, Contact.__table__, {
                "channel": inbound.channel, **contact_identity(self.cipher, inbound.contact_ref), "created_at": now,
                "reachable": True, "display_name": self.cipher.encrypt_text(inbound.display_name),
                "phone": self.cipher.encrypt_text(inbound.phone),
            }, ["channel", "external_hash"])
            row = self.session.execute(find).one()
        return ContactRecord(row.id, row.channel, inbound.contact_ref, row.locale, row.reachable)

    def find(self, channel: str, external_id: str) -> ContactRecord | None:
        contact = self.session.execute(
            select(Contact).where(Contact.channel == channel,
                                  Contact.external_hash == self.cipher.identifier_hash(external_id))
        ).scalar_one_or_none()
        if contact is None:
            return None
        return ContactRecord(contact.id, contact.channel, external_id, contact.locale, contact.reachable)

    def set_opted_out(self, contact_id: int, opted_out: bool) -> None:
        self.session.execute(update(Contact).where(Contact.id == contact_id).values(opted_out=opted_out))

    def set_reachable(self, contact_id: int, reachable: bool) -> None:
        self.session.execute(update(Contact).where(Contact.id == contact_id).values(reachable=reachable))


class ConversationRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher
        self._locked: dict[int, Conversation] = {}  # rows `lock` loaded, by id

    def lock(self, contact_id: int, locale: str, now: datetime) -> tuple[int, DialogState]:
        """Load (creating if needed) the contact's conversation, locked until the transaction ends."""
        query = select(Conversation).where(Conversation.contact_id == contact_id).with_for_update()
        row = self.session.execute(query).scalar_one_or_none()
        if row is None:
            insert_ignoring_duplicates(self.session, Conversation.__table__, {
                "contact_id": contact_id, "locale": locale, "created_at": now, "flow": "", "state": "",
                "history": "[]", "owner": "bot", "misses": 0, "turns": 0,
            }, ["contact_id"])
            row = self.session.execute(query).scalar_one()
        # The session only keeps a weak reference: held here, `save` finds it without loading it again.
        self._locked[row.id] = row
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
            updated_at=row.updated_at,
        )

    def save(self, conversation_id: int, state: DialogState, events: tuple[str, ...]) -> None:
        row = self._locked.get(conversation_id) or self.session.get(Conversation, conversation_id)
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
        if DialogEvent.RETURNED_TO_BOT in events:
            row.waiting_since = row.waiting_reason = row.assigned_to = None
