"""The manager's view (issue 18 item 6) and the canned responses agents manage (issue 18 item 5).

Applicants are driven through the web chat API to different depths; the dashboard's funnel, its CSV and the
other tables must equal what was driven. The read-only `manager` role sees the dashboard and conversations and
is refused on every action; agents do not see the dashboard.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select, update

from bot.wiring import Services
from locales import translate
from storage.models import Case, Conversation, Message
from storage.staff import AuditRepository
from tests.helpers import (
    ELIGIBLE,
    FULL_NAME,
    PASSWORD,
    TEST_KEY,
    Phone,
    applicant_at_summary,
    conversation_id_of,
    enrolled_applicant,
    file_with_imss,
    login,
    make_staff,
    post_form,
)

STAGES = ("started", "consents", "eligibility", "data", "documents", "contracted", "paid", "filed", "enrolled")
STAGE_NAMES = {
    "started": "Started a conversation", "consents": "Accepted the privacy notice",
    "eligibility": "Passed the eligibility questions", "data": "Gave their data", "documents": "Sent their documents",
    "contracted": "Accepted the contract", "paid": "Paid", "filed": "Case filed", "enrolled": "Enrolled with IMSS",
}
DATA_ANSWERS = (FULL_NAME, "GODE561231HDFNZD03", "GODE561231GR8", "12345612340", "ana@example.mx", "si",
                "5512345678", "06600", "Av. Juárez 123, Centro, CDMX", "carpintero", "si", "15000", "mensual",
                "continuar", "no")


def es(msgid: str, **values: object) -> str:
    return translate("es_MX", msgid, **values)


def staff_of(app: Flask, services: Services, email: str, role: str) -> FlaskClient:
    make_staff(services, email, role)
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def applicant(app: Flask) -> Phone:
    """A web-chat applicant of their own (their own cookies)."""
    return Phone(app.test_client())


def to_eligibility(phone: Phone) -> None:
    for text in ("hola", "1", "acepto", "acepto"):
        phone.send(text)


def to_data(phone: Phone) -> None:
    to_eligibility(phone)
    for answer in [*ELIGIBLE, "2", "continuar"]:
        phone.send(answer)


def to_documents(phone: Phone) -> None:
    to_data(phone)
    for answer in DATA_ANSWERS:
        phone.send(answer)


def funnel_of(page: str) -> dict[str, tuple[int, str]]:
    """Reached and dropped per stage, read from the page's table rows."""
    rows = re.findall(r'<tr data-stage="(\w+)"><th scope="row">[^<]*</th><td class="reached">([\d,]+)</td>\s*'
                      r'<td class="dropped">([^<]*)</td>', page)
    return {stage: (int(reached.replace(",", "")), dropped) for stage, reached, dropped in rows}


@pytest.fixture
def admin(app: Flask, services: Services) -> FlaskClient:
    return staff_of(app, services, "jefa@gestoria.mx", "admin")


def test_the_funnel_equals_the_applicants_driven_step_by_step(app: Flask, services: Services,
                                                              admin: FlaskClient) -> None:
    # Deepest first: confirming a transfer takes the oldest pending payment.
    enrolled, filed = applicant(app), applicant(app)
    enrolled_applicant(enrolled)
    enrolled_applicant(filed)
    with services.database.session_scope() as db:
        case_id = db.execute(select(Case.id).where(
            Case.conversation_id == conversation_id_of(services, enrolled))).scalar_one()
    cid = conversation_id_of(services, enrolled)
    file_with_imss(admin, cid, case_id)
    assert post_form(admin, f"/inbox/c/{cid}/case/{case_id}/status", status="enrolled").status_code == 302
    contracted = applicant(app)
    applicant_at_summary(contracted)
    contracted.send("1")
    contracted.send("acepto")
    at_summary = applicant(app)
    applicant_at_summary(at_summary)
    in_documents, in_data, in_eligibility, only_hello = applicant(app), applicant(app), applicant(app), applicant(app)
    to_documents(in_documents)
    to_data(in_data)
    to_eligibility(in_eligibility)
    only_hello.send("hola")

    expected = dict(zip(STAGES, (8, 7, 6, 5, 4, 3, 2, 2, 1), strict=True))
    page = admin.get("/inbox/dashboard").get_data(as_text=True)
    table = funnel_of(page)
    assert {stage: reached for stage, (reached, _) in table.items()} == expected
    drops = [expected[before] - expected[after] for before, after in zip(STAGES, STAGES[1:], strict=False)]
    assert [int(table[stage][1]) for stage in STAGES[1:]] == drops
    for stage in STAGES:  # translated step names, never the internal ones
        assert es(STAGE_NAMES[stage]) in page
    assert "<caption" in page and 'scope="col"' in page and "chart.umd.min.js" in page

    response = admin.get("/inbox/dashboard.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    by_label = {row[0]: row for row in rows if row}
    for stage in STAGES:
        assert int(by_label[es(STAGE_NAMES[stage])][1]) == expected[stage]
    # Cases by status: one enrolled, one received (the CSV and the page agree).
    assert by_label[es("enrolled")][-1] == "1" and by_label[es("received")][-1] == "1"
    assert int(by_label[es("First message to filing")][2]) == 2
    assert int(by_label[es("Filing to enrollment")][2]) == 1
    assert by_label[es("Payments confirmed")][1] == "2"

    # A period before anything happened shows none of them.
    empty = funnel_of(admin.get("/inbox/dashboard?start=2020-01-01&end=2020-01-31").get_data(as_text=True))
    assert all(reached == 0 for reached, _ in empty.values()) and len(empty) == len(STAGES)


def test_agents_first_response_and_handoffs(app: Flask, services: Services, staff_client: FlaskClient,
                                            admin: FlaskClient) -> None:
    phone = applicant(app)
    phone.send("hola")
    phone.send("asesor")
    cid = conversation_id_of(services, phone)
    assert post_form(staff_client, f"/inbox/c/{cid}/take").status_code == 302
    assert post_form(staff_client, f"/inbox/c/{cid}/reply", text="Hola, te ayudo").status_code == 302
    rows = list(csv.reader(io.StringIO(admin.get("/inbox/dashboard.csv").get_data(as_text=True).lstrip("\ufeff"))))
    agent = next(row for row in rows if len(row) > 1 and row[1] == "ana@gestoria.mx")
    assert agent[2:4] == ["1", "1"] and float(agent[4]) >= 0
    page = admin.get("/inbox/dashboard").get_data(as_text=True)
    assert "ana@gestoria.mx" in page


def test_a_manager_reads_but_every_action_is_refused(app: Flask, services: Services) -> None:
    phone = applicant(app)
    enrolled_applicant(phone)
    cid = conversation_id_of(services, phone)
    manager = staff_of(app, services, "direccion@gestoria.mx", "manager")
    assert manager.get("/inbox/dashboard").status_code == 200
    assert manager.get("/inbox/dashboard.csv").status_code == 200
    assert manager.get(f"/inbox/c/{cid}").status_code == 200
    assert manager.get("/inbox/").status_code == 200
    assert manager.get("/inbox/canned").status_code == 200
    assert es("Dashboard") in manager.get("/inbox/").get_data(as_text=True)
    page = manager.get(f"/inbox/c/{cid}").get_data(as_text=True)  # the forms are hidden and the page says why
    assert 'class="read-only"' in page and es("Your account reads only: you see everything, and actions are "
                                              "left to agents and admins.") in page
    posted = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/inbox") or "POST" not in (rule.methods or ()):
            continue
        if rule.endpoint in ("inbox.login", "inbox.logout", "inbox.password"):
            continue
        values = {name: (cid if name == "conversation_id" else 1) for name in rule.arguments}
        url = _build(app, rule.endpoint, values)
        response = post_form(manager, url, text="hola", status="in_review", title="t", body="b", decision="approve")
        assert response.status_code == 403, (url, response.status_code)
        posted += 1
    assert posted >= 10
    # Nothing was done: no staff message, the case untouched.
    with services.database.session_scope() as db:
        assert db.execute(select(Case.status)).scalar_one() == "received"
        assert not db.execute(select(Message.id).where(Message.author == "staff")).all()
    assert manager.get("/inbox/staff").status_code == 403  # still not an admin


def _build(app: Flask, endpoint: str, values: dict[str, Any]) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def test_agents_do_not_see_the_dashboard(staff_client: FlaskClient) -> None:
    assert staff_client.get("/inbox/dashboard").status_code == 403
    assert staff_client.get("/inbox/dashboard.csv").status_code == 403
    assert es("Dashboard") not in staff_client.get("/inbox/").get_data(as_text=True)


def test_a_manager_can_be_created_from_the_admin_page(app: Flask, services: Services, admin: FlaskClient) -> None:
    assert post_form(admin, "/inbox/staff", email="gerente@gestoria.mx", password="una clave larga",
                     role="manager").status_code == 302
    manager = app.test_client()
    assert login(manager, "gerente@gestoria.mx", "una clave larga").status_code == 302
    assert manager.get("/inbox/dashboard").status_code == 200
    assert post_form(manager, "/inbox/canned", title="x", body="y").status_code == 403


def test_agents_manage_canned_responses_with_preview_and_confirmed_delete(
        app: Flask, services: Services, staff_client: FlaskClient) -> None:
    page = post_form(staff_client, "/inbox/canned", title="Saludo", body="Hola {nombre}, folio {folio}.",
                     action="preview")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Hola María, folio PTI-2026-000123." in text  # the preview, nothing saved yet
    assert es("No canned responses yet.") in text
    assert post_form(staff_client, "/inbox/canned", title="Saludo", body="Hola {nombre}, folio {folio}.",
                     action="save").status_code == 302
    listing = staff_client.get("/inbox/canned").get_data(as_text=True)
    canned_id = int(re.search(r"/inbox/canned/(\d+)/edit", listing).group(1))  # type: ignore[union-attr]
    assert "Hola María, folio PTI-2026-000123." in listing

    edit = staff_client.get(f"/inbox/canned/{canned_id}/edit").get_data(as_text=True)
    assert "Hola {nombre}, folio {folio}." in edit
    assert post_form(staff_client, f"/inbox/canned/{canned_id}/edit", title="Bienvenida",
                     body="Buen día {nombre}.", action="save").status_code == 302
    listing = staff_client.get("/inbox/canned").get_data(as_text=True)
    assert "Bienvenida" in listing and "Buen día María." in listing and "Saludo" not in listing

    # The composer's list: filled for this conversation's applicant.
    phone = applicant(app)
    enrolled_applicant(phone)
    cid = conversation_id_of(services, phone)
    filled = staff_client.get(f"/inbox/c/{cid}/canned").get_json()
    assert filled["responses"] == [{"id": canned_id, "title": "Bienvenida", "text": "Buen día Eduardo."}]
    assert staff_client.get("/inbox/c/999999/canned").status_code == 404
    assert "inbox-canned.js" in staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)

    # Deleting asks first; only the confirmation's POST deletes.
    confirm = staff_client.get(f"/inbox/canned/{canned_id}/delete").get_data(as_text=True)
    assert es("Delete this canned response?") in confirm and "Bienvenida" in confirm
    assert "Bienvenida" in staff_client.get("/inbox/canned").get_data(as_text=True)
    assert post_form(staff_client, "/inbox/canned", delete=str(canned_id)).status_code == 302
    assert "Bienvenida" not in staff_client.get("/inbox/canned").get_data(as_text=True)
    assert staff_client.get(f"/inbox/canned/{canned_id}/edit").status_code == 404
    with services.database.session_scope() as db:
        actions = {entry.action for entry in AuditRepository(db).recent()}
    assert {"canned_add", "canned_edit", "canned_delete"} <= actions


@pytest.mark.parametrize("query", ["start=9999-12-31&end=9999-12-31", "start=0001-01-01&end=0001-01-02",
                                   "start=abc&end=2026-02-30", "start=2026-12-31&end=2026-01-01",
                                   "start=%D9%A3&end=", "start=2026-01-01T00:00"])
def test_odd_periods_fall_back_to_sensible_days(admin: FlaskClient, query: str) -> None:
    assert admin.get(f"/inbox/dashboard?{query}").status_code == 200
    assert admin.get(f"/inbox/dashboard.csv?{query}").status_code == 200


def test_a_manager_can_be_created_from_the_command_line(app: Flask, database_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from click.testing import CliRunner

    from bot.cli import cli
    monkeypatch.chdir(tmp_path)
    for name, value in {"DATABASE_URL": database_url, "PTIBOT_DATA_DIR": str(tmp_path / "cli"),
                        "SECRET_KEY": "x" * 32, "DATA_ENCRYPTION_KEYS": TEST_KEY}.items():
        monkeypatch.setenv(name, value)
    handlers = logging.getLogger().handlers[:]
    try:
        result = CliRunner().invoke(cli, ["staff", "add", "gerente@gestoria.mx", "--role", "manager",
                                          "--password-stdin"], input=PASSWORD + "\n", prog_name="ptibot")
    finally:
        logging.getLogger().handlers[:] = handlers  # the group callback installs a handler on captured stderr
    assert result.exit_code == 0, result.output
    assert result.stdout == "added gerente@gestoria.mx as manager\n"
    manager = app.test_client()
    assert login(manager, "gerente@gestoria.mx").status_code == 302
    assert manager.get("/inbox/dashboard").status_code == 200
    assert post_form(manager, "/inbox/canned", title="x", body="y").status_code == 403


def test_the_period_is_read_in_the_business_time_zone(app: Flask, services: Services, admin: FlaskClient) -> None:
    """05:30 UTC on 15 March is still 14 March in Mexico City (UTC-6): the conversation counts on the 14th."""
    phone = applicant(app)
    phone.send("hola")
    with services.database.session_scope() as db:
        db.execute(update(Conversation).values(created_at=datetime(2026, 3, 15, 5, 30, tzinfo=UTC)))

    def started(start: str, end: str) -> int:
        return funnel_of(admin.get(f"/inbox/dashboard?start={start}&end={end}").get_data(as_text=True))["started"][0]

    assert started("2026-03-14", "2026-03-14") == 1
    assert started("2026-03-15", "2026-03-15") == 0
    assert started("2026-03-01", "2026-03-31") == 1


def test_the_dashboard_speaks_the_staff_language(admin: FlaskClient) -> None:
    english = admin.get("/inbox/dashboard?lang=en").get_data(as_text=True)
    assert "Enrollment funnel" in english and "Started a conversation" in english
    spanish = admin.get("/inbox/dashboard?lang=es").get_data(as_text=True)
    assert es("Enrollment funnel") in spanish and "Enrollment funnel" not in spanish
    rows = list(csv.reader(io.StringIO(admin.get("/inbox/dashboard.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[2] == [es("Enrollment funnel")]
