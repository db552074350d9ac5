"""Channel-neutral messages: what adapters parse into and what the engine answers with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the user; `payload` comes back when it is pressed."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent by the user or to the user, referenced by the channel's own id or URL."""

    kind: str  # "image" | "document" | "audio" | "contact" (a vCard file, read once downloaded)
    ref: str
    content_type: str | None = None
    filename: str | None = None
    size: int | None = None
    duration: int | None = None  # seconds, for audio, when the platform says


@dataclass(frozen=True, slots=True)
class Location:
    """A place the user shared: coordinates, and the name and address the platform gave it, if any."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"latitude": self.latitude, "longitude": self.longitude, "name": self.name, "address": self.address}


@dataclass(frozen=True, slots=True)
class SharedContact:
    """A contact card the user shared: the person's name and first phone number."""

    name: str
    phone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "phone": self.phone}


# What people send besides text, buttons and files, each answered by what it means (bot.dialog.kinds):
# a voice note or audio file, a sticker (GIFs and dice too), a video, a location, a contact card, a reaction.
CONTENT_KINDS = frozenset({"audio", "sticker", "video", "location", "contact", "reaction"})
VCARD_TYPES = frozenset({"text/vcard", "text/x-vcard", "text/directory"})  # a contact card sent as a file


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing the user did: a text, a button press, a file, or an event the platform reported."""

    channel: str
    contact_ref: str
    provider_id: str
    text: str = ""
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    locale_hint: str | None = None
    display_name: str | None = None
    phone: str | None = None
    kind: str = "message"  # "message" | "edited" | "unsupported" | "event" | "status" | one of CONTENT_KINDS
    meta: tuple[tuple[str, str], ...] = ()
    # What the channel must do to acknowledge this input (e.g. answer a Telegram button press);
    # queued ahead of the replies so it never happens before the turn is stored.
    ack: tuple[tuple[str, str], ...] = ()
    location: Location | None = None
    contact: SharedContact | None = None

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "text": self.text,
            "payload": self.payload,
            "kind": self.kind,
            "attachments": [attachment_to_dict(a) for a in self.attachments],
        }
        if self.location is not None:
            record["location"] = self.location.to_dict()
        if self.contact is not None:
            record["contact"] = self.contact.to_dict()
        return record

    def to_delivery(self) -> dict[str, Any]:
        """Everything the channel parsed, for the inbound queue: the turn runs later from exactly this."""
        return {
            **self.to_record(),
            "channel": self.channel, "contact_ref": self.contact_ref, "provider_id": self.provider_id,
            "locale_hint": self.locale_hint, "display_name": self.display_name, "phone": self.phone,
            "meta": [list(pair) for pair in self.meta], "ack": [list(pair) for pair in self.ack],
        }

    @classmethod
    def from_delivery(cls, record: dict[str, Any]) -> Inbound:
        return cls(
            channel=record["channel"], contact_ref=record["contact_ref"], provider_id=record["provider_id"],
            text=record.get("text", ""), payload=record.get("payload"),
            attachments=tuple(Attachment(**a) for a in record.get("attachments", [])),
            locale_hint=record.get("locale_hint"), display_name=record.get("display_name"),
            phone=record.get("phone"), kind=record.get("kind", "message"),
            meta=tuple((str(k), str(v)) for k, v in record.get("meta", [])),
            ack=tuple((str(k), str(v)) for k, v in record.get("ack", [])),
            location=Location(**record["location"]) if record.get("location") else None,
            contact=SharedContact(**record["contact"]) if record.get("contact") else None,
        )


@dataclass(frozen=True, slots=True)
class Outbound:
    """One reply bubble: text plus optional buttons and attachments."""

    text: str
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    kind: str = "reply"  # "reply" | "ack" (channel housekeeping, e.g. answering a button press)
    control: tuple[tuple[str, str], ...] = ()

    def to_record(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
            "attachments": [attachment_to_dict(a) for a in self.attachments],
            "kind": self.kind,
            "control": [list(pair) for pair in self.control],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Outbound:
        return cls(
            text=record.get("text", ""),
            buttons=tuple(Button(b["title"], b["payload"]) for b in record.get("buttons", [])),
            attachments=tuple(Attachment(**a) for a in record.get("attachments", [])),
            kind=record.get("kind", "reply"),
            control=tuple((str(k), str(v)) for k, v in record.get("control", [])),
        )


def attachment_to_dict(attachment: Attachment) -> dict[str, Any]:
    return {
        "kind": attachment.kind,
        "ref": attachment.ref,
        "content_type": attachment.content_type,
        "filename": attachment.filename,
        "size": attachment.size,
        **({"duration": attachment.duration} if attachment.duration is not None else {}),
    }


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a queued message goes to, with what a channel needs to decide how to send it."""

    external_id: str
    locale: str = "es_MX"
    last_inbound_at: datetime | None = None
    opted_out: bool = False


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a channel reports after a successful send."""

    provider_id: str | None = None
