"""One turn in one transaction: dedupe under concurrency, resume after a restart, stale claims."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from bot.config import Settings
from bot.core.clock import utcnow
from bot.core.messages import Inbound
from bot.web.app import create_app
from bot.wiring import Services, build_services
from locales import translate
from storage.messages import MessageRepository
from storage.models import Message
from tests.helpers import Phone


def test_concurrent_deliveries_of_one_message_run_one_turn(services: Services) -> None:
    services.turns.handle(Inbound("webchat", "ana", "m0", text="hola"))
    results = []

    def deliver() -> None:
        results.append(services.turns.handle(Inbound("webchat", "ana", "m1", text="4")))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.duplicate for r in results) == [False] + [True] * 5
    assert len({tuple(reply.id for reply in r.replies) for r in results}) == 1
    with services.database.session_scope() as session:
        inbound = session.execute(select(func.count()).select_from(Message)
                                  .where(Message.direction == "in")).scalar_one()
    assert inbound == 2


def test_first_messages_of_a_new_contact_racing_create_one_conversation(services: Services) -> None:
    threads = [threading.Thread(target=services.turns.handle,
                                args=(Inbound("webchat", "new", f"m{i}", text="hola"),)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with services.database.session_scope() as session:
        conversations = {row for row in session.execute(select(Message.conversation_id)).scalars()}
    assert len(conversations) == 1


def test_resume_after_restart_and_a_pause(settings: Settings, services: Services, phone: Phone) -> None:
    phone.send("hola")
    phone.send("requisitos")
    cookie = phone.client.get_cookie("session")
    assert cookie is not None
    services.close()

    restarted = build_services(settings)  # a new process over the same database
    restarted.turns.clock = lambda: utcnow() + timedelta(days=3)
    client = create_app(settings, restarted).test_client()
    client.set_cookie("session", cookie.value)
    back = Phone(client)
    replies = back.send("hola")
    where = translate("es_MX", "the requirements")
    assert replies[0]["text"] == translate("es_MX", "Welcome back! We were at: %(where)s.", where=where)
    assert "CURP" in replies[1]["text"]
    assert len(replies) == 2  # no correction for a greeting after a pause
    replies = back.send("menu")
    assert not replies[0]["text"].startswith(translate("es_MX", "Welcome back! We were at: %(where)s.",
                                                      where=where)[:10])
    restarted.close()


def test_valid_answer_after_a_pause_is_taken_with_the_reminder(services: Services) -> None:
    services.turns.handle(Inbound("webchat", "ana", "m0", text="hola"))
    services.turns.clock = lambda: utcnow() + timedelta(hours=5)
    outcome = services.turns.handle(Inbound("webchat", "ana", "m1", text="4"))
    texts = [r.outbound.text for r in outcome.replies]
    assert texts[0].startswith(translate("es_MX", "Welcome back! We were at: %(where)s.", where="x")[:10])
    assert "CURP" in texts[1]


def test_stale_claims_of_a_dead_worker_are_taken_over(services: Services) -> None:
    services.turns.handle(Inbound("telegram", "42", "u1", text="hola"))
    now = utcnow()
    with services.database.session_scope() as session:
        claimed = MessageRepository(session, services.cipher).claim_due(now, 1, stale_after=timedelta(minutes=2))
    assert len(claimed) == 1
    with services.database.session_scope() as session:
        repo = MessageRepository(session, services.cipher)
        assert repo.claim_due(now + timedelta(seconds=30), 10, stale_after=timedelta(minutes=2)) == []
    with services.database.session_scope() as session:
        repo = MessageRepository(session, services.cipher)
        again = repo.claim_due(now + timedelta(minutes=3), 10, stale_after=timedelta(minutes=2))
    assert [item.id for item in again] == [claimed[0].id]


def test_message_bodies_and_data_are_encrypted_at_rest(services: Services) -> None:
    services.turns.handle(Inbound("webchat", "ana", "m0", text="mi correo es ana.secreta@example.mx"))
    with services.database.engine.connect() as connection:
        raw = b"".join(bytes(row[0]) for row in connection.exec_driver_sql("SELECT body FROM messages"))
    assert b"ana.secreta" not in raw and raw
