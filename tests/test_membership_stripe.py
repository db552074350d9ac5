"""The membership paid by card or OXXO through Stripe Checkout (one payment per period), with the real `stripe`
library against the loopback fake: only the verified webhook starts the membership, once; an expired link offers
the methods again, for the membership (not the service)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.wiring import Services
from locales import translate
from storage.models import Payment, Subscription
from tests.fakes.stripe_api import FakeStripeAPI, sign
from tests.helpers import Phone, make_settings, membership_accepted

SECRET = "whsec_test_secret"


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


@pytest.fixture
def stripe_api() -> Iterator[FakeStripeAPI]:
    with FakeStripeAPI("sk_test_fake") as fake:
        yield fake


@pytest.fixture
def settings(database_url: str, tmp_path: Any, stripe_api: FakeStripeAPI) -> Any:
    return make_settings(database_url, tmp_path / "data", stripe_secret_key="sk_test_fake",
                         stripe_webhook_secret=SECRET, stripe_api_base_url=stripe_api.url)


def post_event(client: FlaskClient, payload: bytes, secret: str = SECRET) -> int:
    return client.post("/webhooks/stripe", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": sign(payload, secret)}).status_code


def memberships(services: Services) -> list[tuple[str, bool]]:
    with services.database.session_scope() as session:
        return [(s.status, s.active) for s in session.execute(select(Subscription)).scalars()]


def card_link(phone: Phone) -> str:
    membership_accepted(phone, plan="anual")
    assert es("How do you want to pay *%(amount)s MXN* for your membership?", amount="$990.00") in phone.text()
    phone.press(es("Card or OXXO cash"))
    match = re.search(r"https://checkout\.stripe\.test/c/pay/(cs_test_\w+)", phone.text())
    assert match, phone.text()
    return match.group(1)


def test_a_membership_paid_by_card_starts_with_the_signed_webhook_once(
        phone: Phone, client: FlaskClient, services: Services, stripe_api: FakeStripeAPI) -> None:
    session_id = card_link(phone)
    _method, _path, params = stripe_api.requests[-1]
    assert params["line_items[0][price_data][unit_amount]"] == "99000"
    assert params["mode"] == "payment"  # one payment per period, not a Stripe subscription
    assert memberships(services) == []
    paid = stripe_api.event("checkout.session.completed", session_id, event_id="evt_membership_1")
    assert post_event(client, paid, secret="whsec_forged") == 400
    assert memberships(services) == []
    assert post_event(client, paid) == 200
    assert memberships(services) == [("active", True)]
    phone.poll()
    assert any(es("Your membership is active until %(until)s.", until="")[:20] in message["text"]
               for message in phone.last), phone.last
    assert post_event(client, paid) == 200  # Stripe retries
    with services.database.session_scope() as session:
        [sub] = session.execute(select(Subscription)).scalars()
        assert sub.plan == "membership_yearly" and sub.paid_until is not None
        until = sub.paid_until
        assert session.execute(select(Payment.status)).scalar_one() == "paid"
    later = stripe_api.event("checkout.session.async_payment_succeeded", session_id, event_id="evt_membership_2")
    assert post_event(client, later) == 200
    with services.database.session_scope() as session:
        assert session.execute(select(Subscription.paid_until)).scalar_one() == until  # extended once only


def test_an_expired_membership_link_offers_the_membership_methods_again(
        phone: Phone, client: FlaskClient, services: Services, stripe_api: FakeStripeAPI) -> None:
    session_id = card_link(phone)
    assert post_event(client, stripe_api.event("checkout.session.expired", session_id)) == 200
    phone.poll()
    with services.database.session_scope() as session:
        reference = session.execute(select(Payment.reference)).scalar_one()
    assert es("Your membership payment did not go through or its link expired (reference *%(reference)s*). "
              "Choose how to pay to try again:", reference=reference) in phone.text()
    assert es("Card or OXXO cash") in phone.buttons()
    phone.press(es("Bank transfer (SPEI)"))
    assert "CLABE" in phone.text() and memberships(services) == []
