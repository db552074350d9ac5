"""Signed, expiring links to stored documents, for providers that fetch media by URL (Twilio).

The link carries the storage name signed with SECRET_KEY and expires after an hour; nothing else is
reachable through it, and staff access to documents goes through the inbox instead.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app
from itsdangerous import BadSignature

from bot.service.links import MAX_AGE, media_signer
from bot.web.context import services_of

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
