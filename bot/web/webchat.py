"""The web chat: a phone-sized page and its JSON API, where anyone can talk to the bot as an applicant."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request, session

from bot.channels.webchat import CHANNEL, client_id, parse_message
from bot.core.errors import BadRequest
from bot.core.messages import Inbound
from bot.service.document_checks import MAX_BYTES
from bot.service.links import media_url
from bot.service.uploads import receive_document
from bot.web.context import services_of
from locales import N_, match_locale, translate
from storage.conversations import ContactRepository
from storage.enrollment import DocumentRepository
from storage.messages import MessageRepository, StoredReply

bp = Blueprint("webchat", __name__)
SESSION_KEY = "webchat_id"


def _session_id() -> str:
    """The browser's identity, kept in the signed session cookie; created on first use."""
    if SESSION_KEY not in session:
        session[SESSION_KEY] = secrets.token_urlsafe(24)
        session.permanent = True
    return str(session[SESSION_KEY])


def _reply_json(reply: StoredReply) -> dict[str, Any]:
    settings = services_of(current_app).settings
    return {
        "id": reply.id,
        "text": reply.outbound.text,
        "buttons": [{"title": b.title, "payload": b.payload} for b in reply.outbound.buttons],
        "attachments": [{"kind": a.kind, "filename": a.filename,
                         "url": media_url(settings.secret_key, "", a)}
                        for a in reply.outbound.attachments],
        "author": reply.author,
        # Staff bubbles carry the person's first name, recorded with the reply (None for older replies).
        "staff_name": (dict(reply.outbound.control).get("staff_name") or None) if reply.author == "staff" else None,
    }


PAGE_TEXTS = {
    "title": N_("IMSS enrollment · Self-employed workers"),
    "subtitle": N_("Online assistant"),
    "conversation": N_("Conversation"),
    "placeholder": N_("Write a message"),
    "send": N_("Send"),
    "attach": N_("Photo or PDF"),
    "attach_hint": N_("Send a photo or PDF"),
    "typing": N_("typing…"),
    "offline": N_("No connection: your message will be sent as soon as you are back online."),
    "retrying": N_("The connection failed. Trying again…"),
    "failed": N_("I could not send your message."),
    "too_large": N_("That file is too large: the limit is %(mb)s MB. Send a regular photo from your phone's "
                    "camera, or a smaller PDF."),
    "wrong_type": N_("We can't open this kind of file. Please send a photo (JPG) or a PDF."),
    "heic": N_("Your phone saved the photo as HEIC, which we can't open. Send it as a photo, not as a file, "
               "or send a PDF."),
    "same_file": N_("You already sent this same file for another document. Is it the right one for this one?"),
    "send_anyway": N_("Send it anyway"),
    "choose_other": N_("Choose another file"),
    "uploading": N_("Uploading %(name)s"),
    "one_page": N_("1 page"),
    "pages": N_("%(count)s pages"),
    "staff": N_("%(name)s, from our team"),
    "team": N_("Our team"),
}
MAX_UPLOAD_MB = MAX_BYTES // (1024 * 1024)  # what the document checks accept
ACCEPTED_TYPES = "image/jpeg,image/png,image/webp,application/pdf"


def _locale() -> str:
    return match_locale(request.accept_languages.best, services_of(current_app).settings.default_locale)


def page_texts(locale: str) -> dict[str, str]:
    """The page's texts in its language; placeholders the page fills itself stay as {name}."""
    values = {"mb": str(MAX_UPLOAD_MB), "name": "{name}", "count": "{count}"}
    return {key: translate(locale, msgid, **values) for key, msgid in PAGE_TEXTS.items()}


@bp.get("/")
def page() -> str:
    locale = _locale()
    return render_template("webchat.html", t=page_texts(locale), lang="en" if locale == "en" else "es",
                           max_bytes=MAX_UPLOAD_MB * 1024 * 1024, accepted=ACCEPTED_TYPES)


@bp.post("/webchat/api/messages")
def post_message() -> Any:
    services = services_of(current_app)
    if request.mimetype == "multipart/form-data":
        return _post_file()
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # a body of 100,000 "[": Python's parser recurses
        body = None
    try:
        provider_id = (client_id(body.get("id")) if isinstance(body, dict) else None) or secrets.token_hex(16)
        inbound = parse_message(_session_id(), body, f"{_session_id()}:{provider_id}",
                                request.accept_languages.best)
    except BadRequest as error:
        return _bad_request(str(error))
    outcome = services.turns.handle(inbound)
    return jsonify(messages=[_reply_json(reply) for reply in outcome.replies], duplicate=outcome.duplicate,
                   inbound_id=outcome.inbound_id)


def _post_file() -> Any:
    """A photo or PDF picked in the page: checked, encrypted and handed to the document step."""
    services = services_of(current_app)
    upload = request.files.get("file")
    if upload is None:
        return _bad_request("send the file in a field named 'file'")
    try:
        provider_id = client_id(request.form.get("id")) or secrets.token_hex(16)
    except BadRequest as error:
        return _bad_request(str(error))
    content = upload.read()
    inbound = Inbound(channel=CHANNEL, contact_ref=_session_id(), provider_id=f"{_session_id()}:{provider_id}",
                      locale_hint=request.accept_languages.best)
    outcome = receive_document(services.turns, services.documents, inbound, content,
                               quota=services.settings.webchat_upload_quota_mb * 1024 * 1024)
    # `kept`: this file is now on record for the applicant, so the page can question it if offered again.
    return jsonify(messages=[_reply_json(reply) for reply in outcome.replies], duplicate=outcome.duplicate,
                   inbound_id=outcome.inbound_id, kept=_on_file(hashlib.sha256(content).hexdigest()))


def _on_file(digest: str) -> bool:
    services = services_of(current_app)
    with services.database.session_scope() as db_session:
        contact = ContactRepository(db_session, services.cipher).find(CHANNEL, _session_id())
        return contact is not None and DocumentRepository(db_session).on_file(contact.id, digest)[0]


BAD_REQUEST = N_("I could not read that message. Please write it again.")


@bp.errorhandler(413)
def too_large(error: Exception) -> Any:
    """A file over the request limit, told in the visitor's language (the page checks the size before sending)."""
    return jsonify(error=translate(_locale(), PAGE_TEXTS["too_large"], mb=str(MAX_UPLOAD_MB))), 413


def _bad_request(detail: str) -> Any:
    """A 400 the page can show: a kind sentence in the visitor's language, and what was wrong for developers."""
    return jsonify(error=translate(_locale(), BAD_REQUEST), detail=detail), 400


@bp.get("/webchat/api/messages")
def list_messages() -> Any:
    services = services_of(current_app)
    after_text = request.args.get("after", "0") or "0"
    # Message ids are positive and fit the database's 64-bit integers; anything else cannot be an id.
    if not (after_text.isascii() and after_text.isdigit() and len(after_text) <= 18):
        return _bad_request("after must be a message id")
    after = int(after_text)
    if SESSION_KEY not in session:
        return jsonify(messages=[])
    with services.database.session_scope() as db_session:
        contact = ContactRepository(db_session, services.cipher).find(CHANNEL, str(session[SESSION_KEY]))
        if contact is None:
            return jsonify(messages=[])
        replies = MessageRepository(db_session, services.cipher).history_for_contact(contact.id, after)
    return jsonify(messages=[_reply_json(reply) for reply in replies])
