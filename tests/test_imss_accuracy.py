"""Issue 15: dated IMSS values, the border zone, reminders on the right dates, amounts as declared, and
retention that ends reminders. Each test states the rule and cites its source (shared/DOMAIN.md sections,
the law, the decree). Driven through the web chat, the reminder and retention jobs, the CLI and the inbox,
with the clock set per case.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, update

from bot.cli import cli
from bot.wiring import Services
from bot.worker.reminders import ReminderJob, Schedule
from bot.worker.retention import RetentionJob
from flows.rules.border_zone import in_border_zone, zone_of_postal_code
from flows.rules.estimate import estimate
from flows.rules.imss import constants_for, expiring
from flows.rules.payments import coverage_month, first_period
from locales import translate
from storage.models import Conversation, Message, Reminder, Subscription
from storage.payments import PaymentRepository
from tests.helpers import CURP, ELIGIBLE, RFC, Phone, login, make_staff, membership_accepted
from tests.samples import document_photo

MX = ZoneInfo("America/Mexico_City")
SCHEDULE = Schedule(MX, time(10, 0), time(21, 0), time(8, 0))


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MX)


def pin(services: Services, moment: list[datetime]) -> Callable[[], datetime]:
    """Inject the clock of the turns (the web chat) so the bot lives at `moment[0]`."""
    def clock() -> datetime:
        return moment[0].astimezone(UTC)
    services.turns.clock = clock
    return clock


def to_postal_code(phone: Phone) -> None:
    phone.send("hola")
    phone.press(es("Start my enrollment"))
    phone.press(es("I accept"))
    phone.press(es("I accept"))
    for answer in ELIGIBLE:
        phone.send(answer)
    phone.press(es("I authorise it"))
    phone.press(es("No"))
    phone.press(es("Neither"))
    phone.press(es("Continue"))
    for answer in ("Eduardo González Díaz", CURP, RFC):
        phone.send(answer)
    phone.press(es("I do not have one"))
    for answer in ("ana@example.mx", "si", "5512345678"):
        phone.send(answer)


def to_estimate(phone: Phone, postal_code: str, border_answer: str | None, income: str) -> str:
    to_postal_code(phone)
    phone.send(postal_code)
    if border_answer is not None:
        assert "Frontera Norte" in phone.text()  # the postal code could not tell: we ask
        phone.send(border_answer)
    else:
        assert "Frontera Norte" not in phone.text()  # the postal code told: no question
    for answer in ("Calle 5 número 10, Centro", "costurera", "si", income, "mensual"):
        phone.send(answer)
    return phone.text()


# -- dated values --------------------------------------------------------------------------------------------

def test_each_value_has_its_own_validity() -> None:
    """The UMA runs February–January (INEGI), the minimum wages January–December (CONASAMI), the rates by
    year (DOMAIN.md "Contributions", table "2025 | 2026 (Feb 2026–Jan 2027 for UMA)")."""
    january_2027 = constants_for(date(2027, 1, 10))
    assert january_2027.uma_daily == 117.31 and "uma_daily" not in january_2027.stale
    assert january_2027.minimum_wage_daily == 315.04  # the newest we have…
    assert {"minimum_wage_daily", "minimum_wage_border_daily", "rates"} <= set(january_2027.stale)  # …flagged
    january_2026 = constants_for(date(2026, 1, 15))
    assert (january_2026.uma_daily, january_2026.minimum_wage_daily) == (113.14, 315.04)  # 2025 UMA, 2026 wage
    assert january_2026.minimum_wage_border_daily == 440.87 and january_2026.current
    mid_2025 = constants_for(date(2025, 6, 1))
    assert (mid_2025.uma_daily, mid_2025.minimum_wage_daily, mid_2025.minimum_wage_border_daily) == (
        113.14, 278.80, 419.88)
    assert mid_2025.stale_among(("uma_daily", "minimum_wage_daily")) == ()
    assert "rates" in mid_2025.stale  # DOMAIN.md has no 2025 rate table: 2026 rates, said so
    assert all(entry.source for entry in january_2027.entries.values())


def test_costs_topic_on_2027_01_10_warns_that_the_minimum_wage_is_missing(services: Services,
                                                                          phone: Phone) -> None:
    """A screen that shows an amount past its values' validity says which value is missing and which year's
    it used (DOMAIN.md: "When a value for the current date is missing, the bot says the estimate may be
    outdated"); the minimum wage changes every 1 January (CONASAMI)."""
    pin(services, [local(2027, 1, 10, 12)])
    phone.send("hola")
    phone.press(es("How much IMSS costs"))
    text = phone.text()
    assert "Aún no tenemos el salario mínimo general" in text and "10 de enero de 2027" in text
    assert "valores de 2026" in text
    assert "UMA vigente desde el 1 de febrero de 2026" in text
    assert "salarios mínimos vigentes desde el 1 de enero de 2026" in text


def test_costs_topic_in_december_2026_dates_each_value(services: Services, phone: Phone) -> None:
    """"Valores vigentes desde el 1 de febrero de 2026" holds for the UMA only; minimum wages apply from
    1 January (issue 15 item 12; DOMAIN.md "Contributions")."""
    pin(services, [local(2026, 12, 10, 12)])
    phone.send("hola")
    phone.press(es("How much IMSS costs"))
    text = phone.text()
    assert "UMA vigente desde el 1 de febrero de 2026" in text
    assert "salarios mínimos vigentes desde el 1 de enero de 2026" in text
    assert "Aún no tenemos" not in text


def test_enrollment_estimate_on_2027_01_10_carries_the_warning(services: Services, phone: Phone) -> None:
    """The enrollment estimate past the minimum wage's validity warns and names the year used (DOMAIN.md
    "Contributions": every amount is an estimate "with the date of its constants")."""
    pin(services, [local(2027, 1, 10, 12)])
    text = to_estimate(phone, "06600", None, "15000")
    assert "el salario mínimo general" in text and "valores de 2026" in text


def test_constants_check_lists_what_expires_within_60_days() -> None:
    """`ptibot constants check` lists the values with no entry past 60 days and exits 1 (issue 15)."""
    runner = CliRunner()
    soon = runner.invoke(cli, ["constants", "check", "--today", "2026-12-01"], prog_name="ptibot")
    assert soon.exit_code == 1, soon.output
    assert "minimum_wage_daily: valid until 2026-12-31" in soon.output
    assert "uma_daily" not in soon.output  # the UMA runs to 31 January 2027: 61 days away
    calm = runner.invoke(cli, ["constants", "check", "--today", "2026-06-01"], prog_name="ptibot")
    assert calm.exit_code == 0 and "no dated value expires" in calm.output
    assert [entry.name for entry in expiring(date(2027, 1, 1), 60)][:2] == ["uma_daily", "minimum_wage_daily"]


def test_inbox_banner_for_admins_from_30_days_before_expiry(app: Flask, services: Services) -> None:
    """Admins see a banner from 30 days before a value expires with no next entry; agents do not (issue 15)."""
    make_staff(services, "admin@gestoria.mx", role="admin")
    make_staff(services, "agent@gestoria.mx", role="agent")
    admin, agent = app.test_client(), app.test_client()
    login(admin, "admin@gestoria.mx")
    login(agent, "agent@gestoria.mx")
    app.config["PTIBOT_CLOCK"] = lambda: local(2026, 12, 1, 12)
    page = admin.get("/inbox/").get_data(as_text=True)
    assert "constants-expiring" in page and "minimum_wage_daily (2026-12-31)" in page
    assert "constants-expiring" not in agent.get("/inbox/").get_data(as_text=True)
    app.config["PTIBOT_CLOCK"] = lambda: local(2026, 11, 30, 12)  # 31 days before: not yet
    assert "constants-expiring" not in admin.get("/inbox/").get_data(as_text=True)


# -- border zone ---------------------------------------------------------------------------------------------

def test_tijuana_postal_code_decides_the_border_zone(services: Services, phone: Phone) -> None:
    """Baja California (postal codes 21xxx–22xxx, SEPOMEX) lies wholly in the Zona Libre de la Frontera Norte
    (decree DOF 31-12-2018; CONASAMI): its minimum wage, $440.87 a day in 2026, is the floor of the base
    (LSS art. 227; DOMAIN.md "Contributions"). At the floor the 2026 estimate is $2,379.70 a month."""
    pin(services, [local(2026, 12, 10, 12)])
    text = to_estimate(phone, "22000", None, "$3,000")
    assert "$2,379.70" in text and "$440.87" in text
    assert zone_of_postal_code("22000") == "yes" and zone_of_postal_code("06600") == "no"
    assert in_border_zone({"postal_code": "22000", "border_zone": "unsure"})  # "No sé" never overrides data


def test_no_se_where_the_postal_code_cannot_tell_is_not_no(services: Services, phone: Phone) -> None:
    """Chihuahua is only partly in the ZLFN (Juárez, Ojinaga… per the decree); for a postal code the SEPOMEX
    data does not know (32830, newer than it) the bot asks, and "No sé" must not pass for "No": the estimate
    says the border minimum would be higher (issue 15 item 6; tests/test_border_zone.py for known codes)."""
    pin(services, [local(2026, 12, 10, 12)])
    text = to_estimate(phone, "32830", "no se", "$3,000")
    assert "$1,879.17" in text
    assert "no pudimos saber si vives en la Zona Libre" in text and "$440.87" in text
    assert estimate(3000, date(2026, 12, 10), border=True).monthly_total == 2379.70


def test_declared_income_is_shown_as_declared(services: Services, phone: Phone) -> None:
    """A declared $18,000 is the monthly base: "$18,000.00 al mes", not $18,000.14 from rounding the daily
    base to cents and multiplying back (LSS art. 227: the base is the declared income)."""
    pin(services, [local(2026, 12, 10, 12)])
    text = to_estimate(phone, "06600", None, "$18,000")
    assert "$18,000.00 al mes" in text and "18,000.14" not in text
    assert "$900.00 al mes" in text  # INFONAVIT 5% of the declared income (LINFONAVIT art. 59 Bis)


# -- reminders -----------------------------------------------------------------------------------------------

def subscribe_at(services: Services, phone: Phone, moment: datetime) -> None:
    """A yearly membership bought at `moment`: accepted in the chat, its transfer confirmed by staff then."""
    pin(services, [moment])
    membership_accepted(phone, "anual", "mensual")
    phone.upload(document_photo(seed=51), "transferencia.jpg")
    with services.database.session_scope() as session:
        [pending] = PaymentRepository(session).pending(limit=1)
        assert services.turns.payments.apply_paid(session, pending.id, "ana@gestoria.mx", moment.astimezone(UTC))


def run_until(services: Services, start: datetime, end: datetime) -> ReminderJob:
    clock = [start]
    job = ReminderJob(services.database, services.cipher, SCHEDULE, clock=lambda: clock[0])
    while clock[0] < end:
        job.run_once()
        clock[0] += timedelta(minutes=30)
    return job


def reminder_rows(services: Services) -> list[tuple[str, str, str]]:
    with services.database.session_scope() as session:
        return [(r.period, r.kind, r.status) for r in session.execute(select(Reminder).order_by(Reminder.id))
                .scalars()]


def reminder_texts(services: Services) -> list[str]:
    with services.database.session_scope() as session:
        bodies = [services.cipher.decrypt_json(r.body) for r in session.execute(
            select(Message).where(Message.direction == "out").order_by(Message.id)).scalars()]
    return [body["text"] for body in bodies if body.get("kind") == "payment_reminder"]


def test_subscription_period_is_taken_in_mexico_city_time(services: Services, phone: Phone) -> None:
    """Subscribing on 15 December at 19:00 in Mexico City (01:00 UTC on the 16th) concerns the 20 December
    deadline: period 2026-12, not 2027-01 (dates in BUSINESS_TIMEZONE, issue 15)."""
    subscribe_at(services, phone, local(2026, 12, 15, 19))
    with services.database.session_scope() as session:
        assert session.execute(select(Subscription.first_period)).scalar_one() == "2026-12"
    assert first_period(datetime(2026, 12, 16, 1, tzinfo=UTC), MX) == "2026-12"
    assert first_period(local(2026, 12, 20, 23, 59), MX) == "2026-12"
    assert first_period(local(2026, 12, 21, 0, 1), MX) == "2027-01"  # just past midnight: next month
    assert first_period(local(2026, 12, 31, 23, 30), MX) == "2027-01"  # 05:30 UTC on 1 January
    assert first_period(datetime(2027, 1, 1, 5, 59, tzinfo=UTC), MX) == "2027-01"


def test_subscribing_two_days_before_the_deadline_still_gets_tomorrow_and_today(services: Services,
                                                                                phone: Phone) -> None:
    """Pay by day 20 (DOMAIN.md "Contributions"): subscribing on the 18th still gets this month's "mañana"
    and "hoy"; the "in 5 days" reminder, already untrue, is not sent. The payment due 20 December buys
    January's coverage, so the reminders name January 2027 and the deadline as a full date."""
    subscribe_at(services, phone, local(2026, 12, 18, 12))
    run_until(services, local(2026, 12, 18, 12, 30), local(2026, 12, 20, 23))
    assert reminder_rows(services) == [("2026-12", "before_5", "dropped"), ("2026-12", "before_1", "sent"),
                                       ("2026-12", "due", "sent")]
    tomorrow, today = reminder_texts(services)
    assert tomorrow.startswith("Mañana, 20 de diciembre de 2026,") and "de enero de 2027" in tomorrow
    assert today.startswith("Hoy, 20 de diciembre de 2026,") and "de enero de 2027" in today
    assert coverage_month("2026-12") == date(2027, 1, 1)


def test_reminder_amount_uses_the_covered_month_and_warns(services: Services, phone: Phone) -> None:
    """The December payment covers January 2027, whose minimum wage we do not have: the reminder's amount
    says so and names the year used (issue 15). Tijuana's postal code puts the floor at the ZLFN minimum."""
    subscribe_at(services, phone, local(2026, 12, 1, 12))
    with services.database.session_scope() as session:
        conversation = session.execute(select(Conversation)).scalar_one()
        data = services.cipher.decrypt_json(conversation.data, {})
        data.update(monthly_income=3000, postal_code="22000", border_zone="unsure")
        conversation.data = services.cipher.encrypt_json(data)
    run_until(services, local(2026, 12, 15, 9), local(2026, 12, 15, 11))
    (text,) = reminder_texts(services)
    assert "tu pago del IMSS de enero de 2027 vence el 20 de diciembre de 2026" in text
    assert "$2,379.70" in text
    assert "salario mínimo de la Zona Libre de la Frontera Norte" in text and "valores de 2026" in text
    assert len(text) <= 600


# -- retention -----------------------------------------------------------------------------------------------

def test_retention_of_an_abandoned_enrollment_ends_its_reminders(services: Services, phone: Phone) -> None:
    """Abandoned enrollments are emptied after 30 days (retention; LFPDPPP art. 24 in DOMAIN.md "Personal
    data"): their reminder subscription ends with them, or the next reminder has no amount."""
    subscribe_at(services, phone, datetime.now(UTC))
    with services.database.session_scope() as session:
        session.execute(update(Conversation).values(flow="enrollment", state="ask_income"))
        # A subscriber from before memberships were sold: a running paid membership keeps its conversation.
        session.execute(update(Subscription).values(status="legacy", paid_until=None))
    RetentionJob(services.database, services.cipher, services.documents, abandoned_days=30,
                 clock=lambda: datetime.now(UTC) + timedelta(days=31)).run_once()
    with services.database.session_scope() as session:
        subscription = session.execute(select(Subscription)).scalar_one()
        assert subscription.active is False and subscription.cancelled_at is not None


def test_data_files_give_each_value_a_well_formed_validity() -> None:
    """Adding a year is a data change (README "Next year's IMSS values"): each entry has a source, the UMA
    runs 1 February–31 January (INEGI), the minimum wages 1 January–31 December (CONASAMI), and entries of
    one value never overlap or leave a gap (DOMAIN.md "Contributions")."""
    from flows.rules.imss import DATED, entries

    for name in DATED:
        found = entries(name)
        for entry in found:
            assert entry.source and entry.valid_from < entry.valid_until
            start = (2, 1) if name == "uma_daily" else (1, 1)
            assert (entry.valid_from.month, entry.valid_from.day) == start, entry
            assert entry.valid_until == entry.valid_from.replace(year=entry.valid_from.year + 1) - timedelta(days=1)
        for earlier, later in zip(found, found[1:], strict=False):
            assert later.valid_from == earlier.valid_until + timedelta(days=1), (earlier, later)
