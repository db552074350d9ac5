"""Stripe Checkout Sessions for a payment: card and OXXO cash, one session per payment (its reference is the
idempotency key, so a retried request never makes a second session). The real `stripe` library is used; in
tests STRIPE_API_BASE_URL points it at a loopback fake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.errors import BotError


class CheckoutError(BotError):
    """Stripe could not create the session (network, configuration); the applicant is offered SPEI instead."""


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    session_id: str
    url: str


class StripeCheckout:
    def __init__(self, secret_key: str, api_base: str, return_url: str, timeout: float = 10.0) -> None:
        self.secret_key, self.api_base, self.return_url, self.timeout = secret_key, api_base, return_url, timeout

    def create(self, payment_id: int, reference: str, amount_centavos: int, concept: str) -> CheckoutLink:
        """A Checkout Session charging `amount_centavos` MXN (IVA included) for `concept`."""
        import stripe

        client = stripe.StripeClient(self.secret_key, base_addresses={"api": self.api_base}, max_network_retries=2,
                                     http_client=stripe.RequestsClient(timeout=self.timeout))
        params: Any = {
            "mode": "payment", "payment_method_types": ["card", "oxxo"], "locale": "es-419",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": "mxn", "unit_amount": amount_centavos, "product_data": {"name": concept}}}],
            "client_reference_id": reference, "metadata": {"payment_id": str(payment_id), "reference": reference},
            "success_url": f"{self.return_url}/?paid={reference}", "cancel_url": f"{self.return_url}/",
        }
        sessions = getattr(client, "v1", client).checkout.sessions
        try:
            session = sessions.create(params=params, options={"idempotency_key": f"checkout-{reference}"})
        except stripe.StripeError as error:
            raise CheckoutError(f"Stripe Checkout failed: {type(error).__name__}") from error
        return CheckoutLink(str(session.id), str(session.url))
