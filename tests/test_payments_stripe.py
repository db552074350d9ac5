"""Card and OXXO through Stripe Checkout, with the real `stripe` library against a loopback fake of its API:
the applicant gets a Checkout link, and only a verified `checkout.session.completed` (paid) or
`async_payment_succeeded` files the case, once; forged or replayed webhooks change nothing; a failed or
expired payment offers a new link."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.config import DEVELOPMENT_SPEI_CLABE
from bot.wiring import Services
from locales import translate
from storage.models import Case, Payment, PaymentEvent
from tests.fakes.stripe_api import FakeStripeAPI, sign
from tests.helpers import Phone, applicant_at_summary, make_settings, membership_accepted

SECRET = "whsec_test_secret"


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


@pytest.fixture
def stripe_api() -> Iterator[FakeStripeAPI]:
    with FakeStripeAPI("sk_test_fake") as fake:
        yield fake


@pytest.fixture
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Any, stripe_api: FakeStripeAPI) -> Any:
    overrides = getattr(request, "param", {})  # a test may run with other settings (indirect parametrize)
    return make_settings(database_url, tmp_path / "data", stripe_secret_key="sk_test_fake",
                         stripe_webhook_secret=SECRET, stripe_api_base_url=stripe_api.url, **overrides)


def post_event(client: FlaskClient, payload: bytes, secret: str = SECRET, signature: str | None = None) -> int:
    header = signature if signature is not None else sign(payload, secret)
    response = client.post("/webhooks/stripe", data=payload, content_type="application/json",
                           headers={"Stripe-Signature": header})
    return response.status_code


def count(services: Services, model: Any) -> int:
    with services.database.session_scope() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def payments(services: Services) -> list[tuple[str, str, str | None]]:
    with services.database.session_scope() as session:
        return [(p.method, p.status, p.provider_session_id)
                for p in session.execute(select(Payment).order_by(Payment.id)).scalars()]


def card_link(phone: Phone, stripe_api: FakeStripeAPI) -> str:
    applicant_at_summary(phone)
    phone.send("1")
    phone.press(es("I accept"))
    assert es("Card or OXXO cash") in phone.buttons() and es("Bank transfer (SPEI)") in phone.buttons()
    phone.press(es("Card or OXXO cash"))
    match = re.search(r"https://checkout\.stripe\.test/c/pay/(cs_test_\w+)", phone.text())
    assert match, phone.text()
    return match.group(1)


def test_card_payment_files_the_case_once_and_forged_or_replayed_events_change_nothing(
        phone: Phone, client: FlaskClient, services: Services, stripe_api: FakeStripeAPI) -> None:
    session_id = card_link(phone, stripe_api)
    method, path, params = stripe_api.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert params["line_items[0][price_data][unit_amount]"] == "149900"
    assert params["line_items[0][price_data][currency]"] == "mxn"
    assert {params["payment_method_types[0]"], params["payment_method_types[1]"]} == {"card", "oxxo"}
    assert "$1,499.00 MXN" in phone.text() and count(services, Case) == 0
    assert payments(services) == [("stripe", "pending", session_id)]

    paid = stripe_api.event("checkout.session.completed", session_id, event_id="evt_paid_1")
    assert post_event(client, paid, secret="whsec_wrong") == 400
    assert post_event(client, paid, signature="t=1,v1=deadbeef") == 400
    assert post_event(client, paid.replace(b"149900", b"1"), signature=sign(paid, SECRET)) == 400  # tampered
    assert count(services, Case) == 0 and count(services, PaymentEvent) == 0
    assert payments(services)[0][1] == "pending"

    assert post_event(client, paid) == 200
    assert count(services, Case) == 1 and payments(services)[0][1] == "paid"
    phone.poll()
    assert re.search(r"PTI-2026-\d{6}", phone.text()), phone.text()
    assert post_event(client, paid) == 200  # Stripe retries the same event
    later = stripe_api.event("checkout.session.async_payment_succeeded", session_id, event_id="evt_paid_2")
    assert post_event(client, later) == 200  # another event about the same payment
    assert count(services, Case) == 1 and count(services, PaymentEvent) == 2
    with services.database.session_scope() as session:
        payment = session.execute(select(Payment)).scalar_one()
        assert payment.confirmed_by == "stripe" and payment.provider_payment_id == "pi_" + session_id[8:]


def test_oxxo_confirms_later(phone: Phone, client: FlaskClient, services: Services,
                             stripe_api: FakeStripeAPI) -> None:
    session_id = card_link(phone, stripe_api)
    voucher = stripe_api.event("checkout.session.completed", session_id, payment_status="unpaid")
    assert post_event(client, voucher) == 200
    assert count(services, Case) == 0 and payments(services)[0][1] == "pending"
    assert post_event(client, stripe_api.event("checkout.session.async_payment_succeeded", session_id)) == 200
    assert count(services, Case) == 1
    phone.poll()
    assert re.search(r"PTI-2026-\d{6}", phone.text())


@pytest.mark.parametrize("kind, status", [("checkout.session.expired", "expired"),
                                          ("checkout.session.async_payment_failed", "failed")])
def test_an_expired_or_failed_payment_offers_a_new_link(phone: Phone, client: FlaskClient, services: Services,
                                                        stripe_api: FakeStripeAPI, kind: str, status: str) -> None:
    first = card_link(phone, stripe_api)
    assert post_event(client, stripe_api.event(kind, first, payment_status="unpaid")) == 200
    assert payments(services)[0][1] == status and count(services, Case) == 0
    phone.poll()
    assert "no se completó o su liga venció" in phone.text(), phone.text()
    phone.press(es("Card or OXXO cash"))
    second = re.search(r"cs_test_\w+", phone.text())
    assert second and second.group(0) != first
    assert [p[1] for p in payments(services)] == [status, "pending"]
    assert post_event(client, stripe_api.event("checkout.session.completed", second.group(0))) == 200
    assert count(services, Case) == 1


def test_the_applicant_may_switch_to_a_transfer(phone: Phone, services: Services, stripe_api: FakeStripeAPI) -> None:
    card_link(phone, stripe_api)
    phone.press(es("Bank transfer (SPEI)"))
    assert "CLABE" in phone.text()
    assert [(method, status) for method, status, _ in payments(services)] == [("stripe", "expired"),
                                                                              ("spei", "pending")]


PRODUCTION = {"env": "production", "public_base_url": "https://bot.gestoria.mx"}


@pytest.mark.parametrize("settings", [{**PRODUCTION, "spei_clabe": DEVELOPMENT_SPEI_CLABE},
                                      {**PRODUCTION, "spei_clabe": "0141806550000000"}], indirect=True)
def test_in_production_an_example_or_malformed_clabe_is_never_shown_only_stripe(
        client: FlaskClient, services: Services, settings: Any) -> None:
    client.environ_base["wsgi.url_scheme"] = "https"  # production cookies are https-only
    phone = Phone(client)
    applicant_at_summary(phone)
    phone.send("1")
    phone.press(es("I accept"))
    shown = phone.text()
    assert re.search(r"https://checkout\.stripe\.test/c/pay/cs_test_\w+", shown), shown  # straight to the link
    assert es("Bank transfer (SPEI)") not in phone.buttons()
    phone.send("transferencia")  # asked for by name: still only the card link
    assert "CLABE" not in phone.text() and settings.spei_clabe not in phone.text()
    assert {method for method, _, _ in payments(services)} == {"stripe"}
    phone.send("hola")  # the engine's own re-prompt of the card step offers no transfer either
    assert es("Bank transfer (SPEI)") not in phone.buttons()
    member = Phone(client.application.test_client())  # another applicant, for the membership
    member.client.environ_base["wsgi.url_scheme"] = "https"
    membership_accepted(member)
    assert "checkout.stripe.test" in member.text() and "CLABE" not in member.text()
    assert es("Bank transfer (SPEI)") not in member.buttons()


@pytest.mark.parametrize("settings", [{**PRODUCTION, "spei_clabe": "014180655000000017"}], indirect=True)
def test_in_production_a_real_clabe_is_offered_beside_stripe(client: FlaskClient, settings: Any) -> None:
    client.environ_base["wsgi.url_scheme"] = "https"
    phone = Phone(client)
    applicant_at_summary(phone)
    phone.send("1")
    phone.press(es("I accept"))
    assert es("Bank transfer (SPEI)") in phone.buttons()
    phone.press(es("Bank transfer (SPEI)"))
    assert "014180655000000017" in phone.text()


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                       lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children,
                                                                                          max_size=3), max_leaves=8)


def test_webhook_fuzz_never_fails_and_changes_nothing(client: FlaskClient, services: Services) -> None:
    """Random bodies, unsigned or correctly signed, of every event shape: a 400 or a 200, never a 5xx."""
    @examples(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(kind=st.sampled_from(["checkout.session.completed", "checkout.session.expired", "charge.refunded", ""]),
           obj=JSONISH, event_id=st.one_of(st.text(max_size=300), st.integers(), st.none()),
           signed=st.booleans(), raw=st.binary(max_size=200))
    def run(kind: str, obj: Any, event_id: Any, signed: bool, raw: bytes) -> None:
        payload = json.dumps({"id": event_id, "type": kind, "data": {"object": obj}}).encode() if signed else raw
        status = post_event(client, payload, signature=None if signed else "t=1,v1=00")
        assert status in (200, 400), status

    run()
    assert count(services, Case) == 0


def test_settings_read_the_payment_variables(tmp_path: Any) -> None:
    from bot.config import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match="STRIPE_WEBHOOK_SECRET"):
        Settings.from_env({"STRIPE_SECRET_KEY": "sk_test_x"}, cwd=tmp_path)
    read = Settings.from_env({"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x",
                              "STRIPE_API_BASE_URL": "http://127.0.0.1:9/", "SPEI_CLABE": "014180655000000017",
                              "SPEI_BENEFICIARY": "Gestoría PTI SA de CV"}, cwd=tmp_path)
    assert read.stripe_enabled and read.stripe_api_base_url == "http://127.0.0.1:9"
    assert (read.spei_clabe, read.spei_beneficiary) == ("014180655000000017", "Gestoría PTI SA de CV")
    assert not Settings.from_env({}, cwd=tmp_path).stripe_enabled
