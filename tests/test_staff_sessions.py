"""Staff sessions that can be taken back, and logins nobody can abuse, through the inbox as a browser uses it.

A stolen cookie is played by copying it from one test client to another before the change and replaying it
after. The clock of the inbox is moved for the timeouts; addresses are set per client, as behind a proxy.
"""

from __future__ import annotations

import cProfile
import dataclasses
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import select

from bot.config import Settings
from bot.core.clock import utcnow
from bot.web.app import create_app
from bot.wiring import Services, build_services
from locales import translate
from storage.models import AuditEntry, LoginAttempt, StaffSession
from tests.helpers import PASSWORD, TEST_KEY, csrf, login, make_staff, post_form

pytest_plugins = ["tests.browser"]

AGENT, ADMIN = "ana@gestoria.mx", "jefa@gestoria.mx"
NEW_PASSWORD = "otra clave bastante larga"


def browser_at(app: Flask, address: str) -> FlaskClient:
    """A test client whose requests come from `address` (what `request.remote_addr` reads)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def logged_in(app: Flask, email: str = AGENT, address: str = "198.51.100.10") -> FlaskClient:
    client = browser_at(app, address)
    assert login(client, email).status_code == 302
    return client


def stolen(app: Flask, victim: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of the victim's cookie as it is now."""
    cookie = victim.get_cookie("session")
    assert cookie is not None
    thief = browser_at(app, "203.0.113.66")
    thief.set_cookie("session", cookie.value)
    return thief


def works(client: FlaskClient) -> bool:
    """Whether the client's cookie still opens the inbox (a dead session is sent to the login page)."""
    response = client.get("/inbox/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def audited(services: Services, action: str) -> list[AuditEntry]:
    with services.database.session_scope() as db:
        rows = list(db.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())
        db.expunge_all()
        return rows


@pytest.fixture
def staffed(services: Services) -> Services:
    make_staff(services, AGENT, "agent")
    make_staff(services, ADMIN, "admin")
    return services


class Clock:
    """The inbox's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr("bot.web.inbox.auth.utcnow", moved)
    return moved


# -- a cookie dies with its session ---------------------------------------------------------------------------
def test_a_copied_cookie_stops_working_after_logout(app: Flask, staffed: Services) -> None:
    agent = logged_in(app)
    copy = stolen(app, agent)
    assert works(copy)
    assert post_form(agent, "/inbox/logout").status_code == 302
    assert not works(copy) and not works(agent)


def test_the_cookie_holds_only_a_random_id_and_the_database_only_its_keyed_hash(app: Flask,
                                                                             staffed: Services) -> None:
    agent = logged_in(app)
    with agent.session_transaction() as cookie:
        assert set(cookie) - {"_permanent"} == {"sid", "inbox_lang", "csrf"}
        sid = cookie["sid"]
    with staffed.database.session_scope() as db:
        rows = list(db.execute(select(StaffSession)).scalars())
        assert len(rows) == 1 and sid not in rows[0].token_hash and len(rows[0].token_hash) == 64
        assert rows[0].address == "198.51.100.10"


def test_a_cookie_from_before_server_side_sessions_asks_for_a_new_login(app: Flask, staffed: Services) -> None:
    old = app.test_client()
    csrf(old)
    with old.session_transaction() as cookie:
        cookie["staff_id"] = 1  # the whole login, signed, in the cookie of before
    response = old.get("/inbox/")
    assert response.status_code == 302 and "/inbox/login" in response.headers["Location"]


def test_a_new_password_ends_every_other_session_and_keeps_this_one(app: Flask, staffed: Services) -> None:
    desk, laptop = logged_in(app), logged_in(app, address="198.51.100.11")
    copy_of_desk, copy_of_laptop = stolen(app, desk), stolen(app, laptop)
    response = post_form(desk, "/inbox/password", current=PASSWORD, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert response.status_code == 302
    assert works(desk) and works(copy_of_desk)  # the browser that changed it stays in
    assert not works(laptop) and not works(copy_of_laptop)
    assert login(app.test_client(), AGENT, PASSWORD).status_code == 401
    assert login(app.test_client(), AGENT, NEW_PASSWORD).status_code == 302
    assert [entry.target for entry in audited(staffed, "password_change")] == [f"staff:{AGENT}"]


def test_a_new_password_needs_the_current_one(app: Flask, staffed: Services) -> None:
    agent = logged_in(app)
    other = logged_in(app, address="198.51.100.11")
    for current in ("", "not my password"):
        response = post_form(agent, "/inbox/password", current=current, password=NEW_PASSWORD,
                             confirm=NEW_PASSWORD)
        assert response.status_code == 400
        assert "Tu contraseña actual no es correcta." in response.get_data(as_text=True)
    assert works(other)  # nothing changed
    assert login(app.test_client(), AGENT, NEW_PASSWORD).status_code == 401
    assert login(app.test_client(), AGENT, PASSWORD).status_code == 302


def test_guessing_the_current_password_from_a_borrowed_session_is_throttled(app: Flask, staffed: Services
                                                                            ) -> None:
    borrowed = logged_in(app)
    for attempt in range(5):
        assert post_form(borrowed, "/inbox/password", current=f"guess {attempt}", password=NEW_PASSWORD,
                         confirm=NEW_PASSWORD).status_code == 400
    assert post_form(borrowed, "/inbox/password", current=PASSWORD, password=NEW_PASSWORD,
                     confirm=NEW_PASSWORD).status_code == 429


def test_disabling_an_account_ends_its_sessions(app: Flask, staffed: Services) -> None:
    agent = logged_in(app)
    copy = stolen(app, agent)
    admin = logged_in(app, ADMIN, "198.51.100.20")
    assert post_form(admin, f"/inbox/staff/{AGENT}/disable").status_code == 302
    assert not works(copy) and not works(agent)
    assert works(admin)
    with staffed.database.session_scope() as db:
        assert db.execute(select(StaffSession.address)).scalars().all() == ["198.51.100.20"]  # the admin's


def test_disabling_from_the_command_line_ends_its_sessions(app: Flask, staffed: Services, database_url: str,
                                                           tmp_path: Path) -> None:
    copy = stolen(app, logged_in(app))
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "PTIBOT_DATA_DIR": str(tmp_path),
           "SECRET_KEY": "x" * 48, "DATA_ENCRYPTION_KEYS": TEST_KEY}
    done = subprocess.run([sys.executable, "-m", "bot", "staff", "disable", AGENT], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not works(copy)


def test_a_role_change_ends_the_sessions_of_that_account(app: Flask, staffed: Services) -> None:
    agent = logged_in(app)
    copy = stolen(app, agent)
    admin = logged_in(app, ADMIN, "198.51.100.20")
    assert post_form(admin, f"/inbox/staff/{AGENT}/role", role="admin").status_code == 302
    assert not works(copy) and not works(agent)
    promoted = logged_in(app)
    assert promoted.get("/inbox/staff").status_code == 200  # the new role, from the next login
    assert [(e.target, e.detail) for e in audited(staffed, "staff_role")] == [(f"staff:{AGENT}", "admin")]
    assert works(admin)
    # An admin cannot change their own role (nor lock themselves out by mistake).
    assert post_form(admin, f"/inbox/staff/{ADMIN}/role", role="agent").status_code == 302
    assert admin.get("/inbox/staff").status_code == 200
    assert post_form(admin, f"/inbox/staff/{AGENT}/role", role="owner").status_code == 400


def test_an_admin_sees_open_sessions_and_ends_one(app: Flask, staffed: Services) -> None:
    agent = logged_in(app, address="198.51.100.77")
    admin = logged_in(app, ADMIN, "198.51.100.20")
    page = admin.get("/inbox/staff").get_data(as_text=True)
    assert "198.51.100.77" in page and "Esta sesión" in page
    with staffed.database.session_scope() as db:
        agent_session = db.execute(select(StaffSession.id).where(StaffSession.address == "198.51.100.77")
                                   ).scalar_one()
    assert post_form(admin, f"/inbox/staff/sessions/{agent_session}/end").status_code == 302
    assert not works(agent) and works(admin)
    assert "198.51.100.77" not in admin.get("/inbox/staff").get_data(as_text=True)
    [entry] = audited(staffed, "session_end")
    assert entry.actor == ADMIN and entry.target == f"staff:{AGENT}"
    # Ending a session that is gone, or one no database could hold, is a no-op.
    assert post_form(admin, f"/inbox/staff/sessions/{agent_session}/end").status_code == 302
    assert post_form(admin, "/inbox/staff/sessions/99999999999999999999999/end").status_code in (302, 404)
    assert agent.post(f"/inbox/staff/sessions/{agent_session}/end").status_code == 400  # no token, no login
    assert len(audited(staffed, "session_end")) == 1


def test_agents_cannot_list_or_end_sessions(app: Flask, staffed: Services) -> None:
    agent = logged_in(app)
    admin = logged_in(app, ADMIN, "198.51.100.20")
    with staffed.database.session_scope() as db:
        admin_session = db.execute(select(StaffSession.id).where(StaffSession.address == "198.51.100.20")
                                   ).scalar_one()
    assert agent.get("/inbox/staff").status_code == 403
    assert post_form(agent, f"/inbox/staff/sessions/{admin_session}/end").status_code == 403
    assert works(admin)


# -- timeouts -------------------------------------------------------------------------------------------------
def test_a_session_idle_too_long_ends(app: Flask, staffed: Services, clock: Clock) -> None:
    agent = logged_in(app)
    for _ in range(3):  # activity keeps it alive well past one idle period
        clock.advance(minutes=29)
        assert works(agent)
    clock.advance(minutes=31)
    assert not works(agent)
    clock.advance(seconds=-31 * 60)  # nor does it come back: the session is gone, not just asleep
    assert not works(agent)


def test_a_page_refreshing_itself_does_not_keep_the_session_alive(app: Flask, staffed: Services,
                                                                  clock: Clock) -> None:
    agent = logged_in(app)
    clock.advance(minutes=20)
    assert agent.get("/inbox/?partial=1").status_code == 200  # the list's 10-second refresh
    clock.advance(minutes=20)
    assert agent.get("/inbox/?partial=1").status_code == 401  # 40 minutes without a person: over
    assert not works(agent)


def test_a_session_ends_at_its_absolute_timeout_whatever_the_activity(app: Flask, staffed: Services,
                                                                      clock: Clock) -> None:
    agent = logged_in(app)
    for _ in range(28):  # 11 h 40 min of steady work
        clock.advance(minutes=25)
        assert works(agent)
    clock.advance(minutes=25)  # 12 h 05 min after the login
    assert not works(agent)
    assert works(logged_in(app))


def test_the_timeouts_are_settings(database_url: str, tmp_path: Path, clock: Clock) -> None:
    settings = Settings.from_env({"DATABASE_URL": database_url, "PTIBOT_DATA_DIR": str(tmp_path),
                                  "SECRET_KEY": "x" * 48, "DATA_ENCRYPTION_KEYS": TEST_KEY,
                                  "STAFF_SESSION_IDLE_MINUTES": "5", "STAFF_SESSION_MAX_HOURS": "1"}, cwd=tmp_path)
    assert (settings.staff_session_idle_minutes, settings.staff_session_max_hours) == (5, 1)
    services = build_services(settings)
    try:
        make_staff(services)
        app = create_app(settings, services)
        agent = logged_in(app)
        clock.advance(minutes=6)
        assert not works(agent)
    finally:
        services.close()


# -- throttling -----------------------------------------------------------------------------------------------
def test_wrong_logins_from_one_address_do_not_lock_out_others(app: Flask, staffed: Services) -> None:
    attacker = browser_at(app, "203.0.113.9")
    for _ in range(5):
        assert login(attacker, AGENT, "wrong").status_code == 401
    assert login(attacker, AGENT).status_code == 429  # that account waits now, even with the right password
    # Someone else at the attacker's address (one office, one proxy) still logs in; so does anyone elsewhere.
    assert login(browser_at(app, "203.0.113.9"), ADMIN).status_code == 302
    assert login(browser_at(app, "198.51.100.30"), ADMIN).status_code == 302


def test_a_successful_login_clears_the_counter(app: Flask, staffed: Services) -> None:
    agent = browser_at(app, "198.51.100.10")
    for _ in range(2):
        for _ in range(4):
            assert login(agent, AGENT, "mistyped").status_code == 401
        assert login(agent, AGENT).status_code == 302
    with staffed.database.session_scope() as db:
        assert db.execute(select(LoginAttempt)).first() is None


def test_login_attempts_are_stored_as_keyed_hashes(app: Flask, staffed: Services) -> None:
    login(browser_at(app, "203.0.113.9"), AGENT, "wrong")
    with staffed.database.session_scope() as db:
        keys = db.execute(select(LoginAttempt.key)).scalars().all()
    assert len(keys) == 2 and not any(AGENT in key or "203.0.113.9" in key for key in keys)


def test_throttling_holds_across_processes(settings: Settings, staffed: Services) -> None:
    """Two app processes (each its own services and connection pool) share the count through the database."""
    first = create_app(settings, staffed)
    other_services = build_services(settings)
    try:
        second = create_app(settings, other_services)
        for app in (first, second, first, second, first):
            assert login(browser_at(app, "203.0.113.9"), AGENT, "wrong").status_code == 401
        assert login(browser_at(second, "198.51.100.10"), AGENT).status_code == 429
    finally:
        other_services.close()


def test_one_address_trying_many_accounts_is_stopped_and_only_that_address(settings: Settings,
                                                                           staffed: Services) -> None:
    """Behind the load balancer every request comes from its address; X-Forwarded-For names the client."""
    app = create_app(dataclasses.replace(settings, trusted_proxies=1), staffed)
    proxy = "10.0.0.2"

    def client_of(address: str) -> FlaskClient:
        client = browser_at(app, proxy)
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        return client

    attacker = client_of("203.0.113.9")
    for number in range(20):
        assert login(attacker, f"guess{number}@gestoria.mx", "wrong").status_code == 401
    assert login(client_of("203.0.113.9"), AGENT).status_code == 429
    assert login(client_of("198.51.100.30"), AGENT).status_code == 302


# -- no timing oracle -----------------------------------------------------------------------------------------
def scrypt_calls(action: Callable[[], object]) -> int:
    """How many times the password KDF ran during `action`, counted by the profiler (no guessing from time)."""
    profile = cProfile.Profile()
    profile.runcall(action)
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(calls[1] for (_, _, name), calls in stats.items() if "scrypt" in name)


def test_a_login_takes_as_long_whether_or_not_the_account_exists(app: Flask, staffed: Services) -> None:
    client = browser_at(app, "198.51.100.10")

    def attempt(email: str) -> Callable[[], object]:
        return lambda: login(client, email, "wrong password")

    attempt("warm-up@gestoria.mx")()  # the stand-in hash for unknown emails is made once
    assert scrypt_calls(attempt(AGENT)) == 1
    assert scrypt_calls(attempt("nobody@gestoria.mx")) == 1

    def timed(email: str) -> float:
        started = time.perf_counter()
        attempt(email)()
        return time.perf_counter() - started

    # Interleaved, and the fastest of each: a busy machine slows some tries, never speeds one up.
    known, unknown = [], []
    for number in range(3):
        known.append(timed(AGENT))
        unknown.append(timed(f"nadie{number}@gestoria.mx"))
    assert min(unknown) >= 0.5 * min(known), (unknown, known)  # was 11 ms against 135 ms


def test_a_next_address_with_a_line_break_is_ignored(app: Flask, staffed: Services) -> None:
    client = app.test_client()
    token = csrf(client)
    response = client.post("/inbox/login?next=/inbox/%0d%0aSet-Cookie:%20x=1",
                           data={"email": AGENT, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox/"


# -- in the browser -------------------------------------------------------------------------------------------
def test_in_chromium_a_new_password_logs_the_other_browser_out(live_server: str,
                                                               new_tab: Callable[[ViewportSize], Page],
                                                               staffed: Services) -> None:
    desk, laptop = new_tab({"width": 1280, "height": 900}), new_tab({"width": 1280, "height": 900})
    for page in (desk, laptop):
        page.goto(live_server + "/inbox/login")
        page.fill("input[name=email]", AGENT)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name=translate("es_MX", "Log in")).click()
        expect(page).to_have_url(live_server + "/inbox/")
    desk.goto(live_server + "/inbox/password")
    desk.get_by_label(translate("es_MX", "Current password")).fill(PASSWORD)
    desk.get_by_label(translate("es_MX", "New password")).fill(NEW_PASSWORD)
    desk.get_by_label(translate("es_MX", "Repeat it")).fill(NEW_PASSWORD)
    desk.get_by_role("button", name=translate("es_MX", "Save")).click()
    expect(desk).to_have_url(live_server + "/inbox/")
    laptop.reload()
    expect(laptop).to_have_url(live_server + "/inbox/login?next=/inbox/?")
    desk.reload()
    expect(desk).to_have_url(live_server + "/inbox/")


def test_only_page_loads_and_changes_rewrite_the_session_cookie_so_an_image_cannot_drop_a_flash(
        staff_client: FlaskClient) -> None:
    """An image or a live refresh that started before an action and ends after it must not write back the
    session it read: the action's flash would be lost."""
    def sets_cookie(**headers: str) -> bool:
        response = staff_client.get("/inbox/?view=waiting", headers=headers)
        assert response.status_code == 200
        return any(header.startswith("session=") for header in response.headers.getlist("Set-Cookie"))

    assert sets_cookie(**{"Sec-Fetch-Dest": "document"})  # a page load slides the permanent session's expiry
    assert sets_cookie()  # a client that does not say what it fetches is treated as a page load
    assert not sets_cookie(**{"Sec-Fetch-Dest": "image"})
    assert not sets_cookie(**{"Sec-Fetch-Dest": "empty", "X-Live": "1"})
    assert not sets_cookie(**{"Sec-Fetch-Dest": "document", "X-Live": "1"})
    with staff_client.session_transaction() as session:  # an action's flash, shown (and so taken) by a fetch
        session["_flashes"] = [("message", "This status needs a reason.")]
    assert sets_cookie(**{"Sec-Fetch-Dest": "empty"})  # the session changed: the cookie is written
