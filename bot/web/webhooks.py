"""Provider webhooks: verify, parse, queue the delivery for its turn (bot.service.intake), answer.

No outbound call happens here.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request

from bot.channels import telegram, whatsapp
from bot.core.errors import BadRequest, Forbidden
from bot.web.context import services_of
from storage.messages import MessageRepository

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)


@bp.post("/whatsapp")
def whatsapp_message() -> Any:
    services = services_of(current_app)
    _verify_twilio(services)
    if _has_nul(request.form):
        return jsonify(error="NUL characters are not allowed"), 400
    try:
        inbound = whatsapp.parse_form(request.form)
    except BadRequest as error:
        return jsonify(error=str(error)), 400
    services.intake.accept(inbound)
    return Response("<Response/>", mimetype="text/xml")


@bp.post("/whatsapp/status")
def whatsapp_status() -> Any:
    services = services_of(current_app)
    _verify_twilio(services)
    sid, status = request.form.get("MessageSid"), request.form.get("MessageStatus")
    if not sid or not status or _has_nul(request.form):
        return jsonify(error="MessageSid and MessageStatus are required, without NUL characters"), 400
    error = request.form.get("ErrorCode")
    with services.database.session_scope() as session:
        MessageRepository(session, services.cipher).record_delivery(
            whatsapp.CHANNEL, sid, status, f"twilio error {error}" if error else None)
    return Response("<Response/>", mimetype="text/xml")


def _has_nul(form: Any) -> bool:
    """Twilio never sends NUL, and PostgreSQL text columns refuse it: such a body is malformed, not a 500."""
    return any("\x00" in value for values in form.listvalues() for value in values)


def _verify_twilio(services: Any) -> None:
    """403 unless the request carries a valid signature for our public URL (path and query included)."""
    settings = services.settings
    path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    try:
        whatsapp.verify(settings.twilio_auth_token, settings.public_base_url, path, request.form,
                        request.headers.get("X-Twilio-Signature"))
    except Forbidden:
        log.warning("whatsapp webhook with a bad signature from %s", request.remote_addr)
        abort(Response("forbidden", status=403))


@bp.post("/telegram")
def telegram_update() -> Any:
    services = services_of(current_app)
    settings = services.settings
    if not settings.telegram_enabled:
        abort(404)
    try:
        telegram.verify(request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                        settings.telegram_webhook_secret)
    except Forbidden:
        log.warning("telegram webhook with a bad secret token from %s", request.remote_addr)
        return jsonify(error="forbidden"), 403
    try:
        inbound = telegram.parse_update(request.get_json(silent=True))
    except RecursionError:  # a body of 100,000 "[": Python's parser recurses
        return jsonify(error="malformed JSON"), 400
    except BadRequest as error:
        return jsonify(error=str(error)), 400
    if inbound is not None:
        services.intake.accept(inbound)
    return jsonify(ok=True)
