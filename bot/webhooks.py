"""Provider webhooks: verify, parse, run the turn in one transaction, answer. No outbound call here."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request

from bot.app import services_of
from bot.channels import telegram
from bot.errors import BadRequest, Forbidden

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)


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
    except BadRequest as error:
        return jsonify(error=str(error)), 400
    if inbound is not None:
        services.turns.handle(inbound)
    return jsonify(ok=True)
