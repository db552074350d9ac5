"""POST /webhooks/stripe: Checkout events, verified with `Stripe-Signature` (400 and nothing changed otherwise),
applied once per event id in one transaction. The answer makes no outbound call: what the applicant must hear
is queued for the worker."""

from __future__ import annotations

import logging
from typing import Any

import stripe
from flask import Blueprint, abort, current_app, jsonify, request

from bot.web.context import services_of

log = logging.getLogger(__name__)
bp = Blueprint("stripe_webhook", __name__)
HANDLED = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
           "checkout.session.async_payment_failed", "checkout.session.expired")


@bp.post("/webhooks/stripe")
def stripe_event() -> Any:
    services = services_of(current_app)
    secret = services.settings.stripe_webhook_secret
    if not secret:
        abort(404)  # Stripe is off: SPEI only
    payload = request.get_data()
    try:
        event = stripe.Webhook.construct_event(payload, request.headers.get("Stripe-Signature", ""), secret)
    except (ValueError, stripe.SignatureVerificationError):
        log.warning("stripe webhook refused: bad signature or payload")
        return jsonify(error="invalid signature"), 400
    body: dict[str, Any] = event.to_dict() if hasattr(event, "to_dict") else dict(event)
    kind, data = body.get("type"), body.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if kind not in HANDLED or not isinstance(obj, dict) or not isinstance(body.get("id"), str):
        return jsonify(received=True)  # signed by Stripe but nothing we act on
    intent = obj.get("payment_intent")
    outcome = services.turns.payments.apply_stripe_event(
        body["id"][:255], str(kind), str(obj.get("id") or "")[:255], str(obj.get("payment_status") or ""),
        intent[:255] if isinstance(intent, str) else None)
    log.info("stripe event type=%s outcome=%s", kind, outcome)
    return jsonify(received=True)
