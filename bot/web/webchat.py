"""The web chat: a phone-sized page and its JSON API, where anyone can talk to the bot as an applicant."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request, session

from bot.channels.webchat import CHANNEL, client_id, parse_message
from bot.core.errors import BadRequest
from bot.core.messages import Inbound
from bot.service.links import media_url
from bot.service.uploads import receive_document
from bot.web.context import services_of
from locales import N_, match_locale, translate
from storage.conversations import ContactRepository
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
    }


PAGE_TEXTS = {
    "title": N_("IMSS enrollment · Self-employed workers"),
    "subtitle": N_("Online assistant"),
    "placeholder": N_("Write a message"),
    "send": N_("Send"),
    "attach": N_("Send a photo or PDF"),
    "typing": N_("typing…"),
    "offline": N_("No connection. Check your internet and try again."),
    "failed": N_("I could not send your message."),
    "greeting": N_("hello"),
}


@bp.get("/")
def page() -> str:
    locale = match_locale(request.accept_languages.best, services_of(current_app).settings.default_locale)
    texts = {key: translate(locale, msgid) for key, msgid in PAGE_TEXTS.items()}
    return render_template("webchat.html", t=texts, lang="en" if locale == "en" else "es")


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
    return jsonify(messages=[_reply_json(reply) for reply in outcome.replies], duplicate=outcome.duplicate,
                   inbound_id=outcome.inbound_id)


BAD_REQUEST = N_("I could not read that message. Please write it again.")


def _bad_request(detail: str) -> Any:
    """A 400 the page can show: a kind sentence in the visitor's language, and what was wrong for developers."""
    locale = match_locale(request.accept_languages.best, services_of(current_app).settings.default_locale)
    return jsonify(error=translate(locale, BAD_REQUEST), detail=detail), 400


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
