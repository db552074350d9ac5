"""Signed, expiring links to stored documents, for providers that fetch media by URL (Twilio).

The link carries the storage name signed with SECRET_KEY and expires after an hour; nothing else is
reachable through it, and staff access to documents goes through the inbox instead (voice notes too: the
inbox transcript plays them from its login-protected, audited document route, `inbound_media` below says
which message carried what).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, g
from itsdangerous import BadSignature

from bot.service.links import MAX_AGE, media_signer
from bot.web.context import services_of
from storage.inbound_media import InboundMedia, InboundMediaRepository

bp = Blueprint("media_links", __name__)


@bp.get("/media/<token>")
def serve(token: str) -> Any:
    services = services_of(current_app)
    try:
        ref, content_type, filename = media_signer(services.settings.secret_key).loads(token, max_age=MAX_AGE)
        content = services.documents.load(str(ref))
    except (BadSignature, ValueError, FileNotFoundError):
        abort(404)
    response = Response(content, mimetype=str(content_type))
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.app_template_global("inbound_media")
def inbound_media(conversation_id: int) -> dict[int, InboundMedia]:
    """Per inbound message of a conversation, the audio, place or contact card it carried; read once a request."""
    cache: dict[int, dict[int, InboundMedia]] = g.setdefault("inbound_media", {})
    if conversation_id not in cache:
        services = services_of(current_app)
        with services.database.session_scope() as db:
            cache[conversation_id] = InboundMediaRepository(db, services.cipher).for_conversation(conversation_id)
    return cache[conversation_id]
