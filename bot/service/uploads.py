"""Uploaded files, from any channel: check the bytes, store them encrypted, run the document turn.

The applicant hears "received" or specific retake advice; a rejected file is never kept. A file that is a
recording or a video is not a broken document: it gets the answer a voice note or a video gets on any
channel (bot.dialog.kinds), and a recording is kept for staff like a voice note. Contact cards (vCard files,
as WhatsApp sends them) are read here too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from bot.core.events import SystemEvent
from bot.core.messages import Inbound, SharedContact
from bot.service.document_checks import check_document
from bot.service.turns import StoredFile, TurnReceipt, TurnService
from locales import N_
from storage.conversations import ContactRepository
from storage.enrollment import DocumentRepository
from storage.files import DocumentStore
from storage.inbound_media import InboundMediaRepository

ALREADY_ON_FILE = N_("We already have this exact file, thank you! There is no need to send it again.")
QUOTA_FULL = N_("We cannot keep more files from this chat: you have sent the most we accept. "
                "If something is missing, write *asesor* and a person will help you.")
MAX_AUDIO_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for audio
MAX_VCARD_BYTES = 64 * 1024
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"F4A ", b"F4B "}


def receive_document(turns: TurnService, store: DocumentStore, inbound: Inbound, content: bytes,
                     quota: int | None = None) -> TurnReceipt:
    """Run the turn for one uploaded file; `inbound` names who sent it and its provider id.

    The same file is kept once per applicant (a repeat is acknowledged, not stored again), and `quota` caps the
    bytes one applicant may have stored (the anonymous web chat's limit). A recording is answered as a voice
    note and kept; a video is answered as a video and dropped.
    """
    kind = media_kind(content)
    if kind == "video":
        return turns.handle(replace(inbound, kind="video"))
    digest = hashlib.sha256(content).hexdigest()
    already, stored_bytes = _on_file(turns, inbound, digest)
    if kind == "audio":
        outcome = turns.handle(replace(inbound, kind="audio"))
        fits = len(content) <= MAX_AUDIO_BYTES and (quota is None or stored_bytes + len(content) <= quota)
        if not outcome.duplicate and not already and fits and outcome.inbound_id is not None:
            keep_audio(turns, store, outcome.inbound_id, content, audio_type(content), None)
        return outcome
    if already:
        return turns.handle(_rejected(inbound, "duplicate", ALREADY_ON_FILE))
    if quota is not None and stored_bytes + len(content) > quota:
        return turns.handle(_rejected(inbound, "quota", QUOTA_FULL))
    check = check_document(content)
    if not check.ok or check.content_type is None:
        return turns.handle(_rejected(inbound, check.reason or "", check.advice or ""))
    name = store.save(content)
    stored = StoredFile(name, check.content_type, len(content), digest, check.width, check.height, check.pages)
    outcome = turns.handle(replace(inbound, kind="event", payload=SystemEvent.DOCUMENT_READY), stored)
    if outcome.duplicate:
        store.delete(name)  # a redelivered upload: the first copy is the one on file
    return outcome


def keep_audio(turns: TurnService, store: DocumentStore, message_id: int, content: bytes, content_type: str | None,
               duration: int | None) -> int | None:
    """Store a voice note encrypted, as a document of the message it came in; its id, or None when that message
    is gone (the applicant erased their data meanwhile) and nothing is kept."""
    name = store.save(content)
    seconds = duration if duration is not None else audio_duration(content)
    with turns.database.session_scope() as session:
        document_id = InboundMediaRepository(session, turns.cipher).add_audio(
            message_id, name, content_type or audio_type(content), len(content),
            hashlib.sha256(content).hexdigest(), seconds, turns.clock())
    if document_id is None:
        store.delete(name)
    return document_id


def media_kind(content: bytes) -> str | None:
    """"audio" or "video" when the bytes are a recording or a video (by content, never by name); else None."""
    head = content[:4096]
    if head.startswith(b"OggS"):
        return "video" if b"\x80theora" in head else "audio"
    if head.startswith((b"ID3", b"fLaC", b"#!AMR", b"caff")) or (
            len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):  # an MPEG audio frame (JPEG's is FF D8)
        return "audio"
    if head.startswith(b"RIFF") and head[8:12] in (b"WAVE", b"AVI "):
        return "audio" if head[8:12] == b"WAVE" else "video"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:  # an iPhone photo: the document checks explain it
            return None
        return "audio" if brand in _AUDIO_BRANDS else "video"
    if head.startswith(b"\x1aE\xdf\xa3"):  # Matroska / WebM: a video track has a "V_…" codec id
        return "video" if b"V_" in head else "audio"
    return None


def audio_type(content: bytes) -> str:
    """The content type to serve a recording with (browsers play Ogg/Opus, MP3, M4A, WAV and WebM)."""
    head = content[:12]
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"RIFF"):
        return "audio/wav"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "audio/webm"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    return "audio/mpeg"


def audio_duration(content: bytes) -> int | None:
    """Seconds of an Ogg (Opus or Vorbis) or WAV recording, read from its headers; None for other formats."""
    if content.startswith(b"OggS"):
        head = content[:4096]
        if (at := head.find(b"OpusHead")) >= 0 and len(head) >= at + 12:
            rate, skip = 48000, int.from_bytes(head[at + 10:at + 12], "little")
        elif (at := head.find(b"\x01vorbis")) >= 0 and len(head) >= at + 16:
            rate, skip = int.from_bytes(head[at + 12:at + 16], "little"), 0
        else:
            return None
        last = content.rfind(b"OggS")
        granule = int.from_bytes(content[last + 6:last + 14], "little", signed=True)
        return round((granule - skip) / rate) if rate and granule > skip else None
    if content.startswith(b"RIFF") and content[8:12] == b"WAVE":
        fmt, data = content.find(b"fmt "), content.find(b"data")
        if fmt < 0 or data < 0:
            return None
        byte_rate = int.from_bytes(content[fmt + 16:fmt + 20], "little")
        size = int.from_bytes(content[data + 4:data + 8], "little")
        return round(size / byte_rate) if byte_rate else None
    return None


def parse_vcard(content: bytes) -> SharedContact | None:
    """The name and first phone number of a vCard (2.1, 3.0 or 4.0); None when it holds neither."""
    text = content[:MAX_VCARD_BYTES].decode("utf-8", errors="replace")
    lines = re.sub(r"\r?\n[ \t]", "", text).splitlines()  # unfold continued lines
    name = phone = structured = ""
    for line in lines:
        key, _, value = line.partition(":")
        field = key.split(";")[0].split(".")[-1].upper()
        value = value.replace("\\,", ",").replace("\\;", ";").strip()
        if field == "FN" and not name:
            name = value
        elif field == "N" and not structured:
            parts = [part.strip() for part in value.split(";")]
            structured = " ".join(part for part in (*parts[1:3], parts[0]) if part)
        elif field == "TEL" and not phone:
            phone = value.removeprefix("tel:")
    name = (name or structured)[:200]
    phone = re.sub(r"[^\d+]", "", phone)[:20]
    if not name and not phone:
        return None
    return SharedContact(name, phone or None)


def _rejected(inbound: Inbound, reason: str, advice: str) -> Inbound:
    return replace(inbound, kind="event", payload=SystemEvent.DOCUMENT_REJECTED,
                   meta=(*inbound.meta, ("reason", reason), ("advice", advice)))


def _on_file(turns: TurnService, inbound: Inbound, digest: str) -> tuple[bool, int]:
    """Whether the sender already has this file on record, and the bytes they have stored."""
    with turns.database.session_scope() as session:
        contact = ContactRepository(session, turns.cipher).find(inbound.channel, inbound.contact_ref)
        return DocumentRepository(session).on_file(contact.id, digest) if contact else (False, 0)
