"""The outbox dispatcher against the loopback Telegram API: order, retries, backoff, permanent failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.wiring import Services
from bot.worker.outbox import Dispatcher
from storage.models import Contact, Message, SendAttempt
from tests.helpers import TELEGRAM_SECRET, telegram_text_update


def post(client: FlaskClient, update: dict[str, Any]) -> int:
    response = client.post("/webhooks/telegram", json=update,
                           headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
    return response.status_code


def drain(services: Services, clock_shift: timedelta = timedelta(0)) -> int:
    from bot.core.clock import utcnow

    dispatcher = Dispatcher(services.database, services.cipher, services.senders,
                            clock=lambda: utcnow() + clock_shift)
    total = 0
    while handled := dispatcher.run_once():
        total += handled
    return total


def outbound(services: Services) -> list[Message]:
    with services.database.session_scope() as session:
        return list(session.execute(
            select(Message).where(Message.direction == "out").order_by(Message.id)).scalars())


def test_replies_are_sent_in_order_with_buttons(telegram_client: FlaskClient, telegram_services: Services,
                                                telegram_api: Any) -> None:
    assert post(telegram_client, telegram_text_update(1, 777, "hola")) == 200
    assert telegram_api.calls == []  # nothing is sent before the worker runs
    drain(telegram_services)
    calls = telegram_api.calls_to("sendMessage")
    assert len(calls) == 2
    assert "IMSS" in calls[0].params["text"]
    assert calls[0].params["chat_id"] == 777
    keyboard = calls[1].params["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0]["callback_data"] == "enroll"
    assert all(m.status == "sent" and m.provider_id and m.attempts == 1 for m in outbound(telegram_services))


def test_bold_is_html_and_user_text_cannot_inject_markup(telegram_client: FlaskClient,
                                                         telegram_services: Services, telegram_api: Any) -> None:
    post(telegram_client, telegram_text_update(1, 5, "hola"))
    post(telegram_client, telegram_text_update(2, 5, "4"))
    drain(telegram_services)
    text = telegram_api.calls_to("sendMessage")[-1].params["text"]
    assert "<b>" in text and "*" not in text
    assert telegram_api.calls_to("sendMessage")[-1].params["parse_mode"] == "HTML"


def test_transient_errors_are_retried_with_backoff_and_every_attempt_recorded(
        telegram_client: FlaskClient, telegram_services: Services, telegram_api: Any) -> None:
    telegram_api.fail_next("sendMessage", status=500, times=2)
    post(telegram_client, telegram_text_update(1, 9, "hola"))
    drain(telegram_services)
    first = outbound(telegram_services)[0]
    assert first.status == "queued" and first.attempts == 1 and "network" in (first.last_error or "")
    later = outbound(telegram_services)[1]
    assert later.status == "queued" and later.attempts == 0  # waits behind the first: order is kept
    drain(telegram_services, timedelta(seconds=10))
    drain(telegram_services, timedelta(seconds=30))
    messages = outbound(telegram_services)
    assert [m.status for m in messages] == ["sent", "sent"]
    assert messages[0].attempts == 3
    with telegram_services.database.session_scope() as session:
        outcomes = [a.outcome for a in session.execute(
            select(SendAttempt).where(SendAttempt.message_id == messages[0].id).order_by(SendAttempt.id)).scalars()]
    assert outcomes == ["retry", "retry", "sent"]
    texts = [c.params["text"] for c in telegram_api.calls_to("sendMessage") if c.status == 200]
    assert len(texts) == 2 and "IMSS" in texts[0]


def test_rate_limit_retry_after_is_honoured(telegram_client: FlaskClient, telegram_services: Services,
                                            telegram_api: Any) -> None:
    telegram_api.fail_next("sendMessage", status=429, retry_after=7)
    post(telegram_client, telegram_text_update(1, 9, "hola"))
    drain(telegram_services)
    first = outbound(telegram_services)[0]
    assert first.status == "queued"
    assert first.next_attempt_at is not None and first.created_at is not None
    waited = first.next_attempt_at.replace(tzinfo=None) - first.created_at.replace(tzinfo=None)
    assert timedelta(seconds=6) < waited < timedelta(seconds=9)
    assert drain(telegram_services, timedelta(seconds=3)) == 0
    drain(telegram_services, timedelta(seconds=8))
    assert [m.status for m in outbound(telegram_services)] == ["sent", "sent"]


def test_blocked_bot_is_a_permanent_failure_and_flags_the_contact(
        telegram_client: FlaskClient, telegram_services: Services, telegram_api: Any) -> None:
    telegram_api.fail_next("sendMessage", status=403, times=5)
    post(telegram_client, telegram_text_update(1, 9, "hola"))
    drain(telegram_services)
    assert outbound(telegram_services)[0].status == "failed"
    with telegram_services.database.session_scope() as session:
        assert session.execute(select(Contact.reachable)).scalar_one() is False


def test_unconfigured_channel_waits_instead_of_failing(services: Services) -> None:
    """A row for a channel this process cannot send on stays queued for a process that can."""
    from bot.core.messages import Inbound

    services.turns.handle(Inbound("telegram", "42", "u1", text="hola"))
    drain(services)
    assert {m.status for m in outbound(services)} == {"queued"}


def test_throttle_never_lets_more_than_the_limit_into_any_second_with_concurrent_senders() -> None:
    """Six senders at once, round trips of 90–110 ms, senders that oversleep now and then: the provider
    counts a send when its request arrives (half way through the round trip), and never sees more than 30
    in any second, while the pace stays close to the limit."""
    import heapq
    import random

    from bot.worker.throttle import Throttle

    throttle = Throttle(per_second=30, chat_rate=1.0, chat_burst=3)
    rng = random.Random(8)
    events: list[tuple[float, int, str]] = [(0.0, sender, "ready") for sender in range(6)]
    chats: dict[int, str] = {}
    counted: list[float] = []
    while len(counted) < 600:
        moment, sender, kind = heapq.heappop(events)
        if kind == "done":
            throttle.finished(chats[sender], moment)
            heapq.heappush(events, (moment, sender, "ready"))
            continue
        chat = f"chat{len(counted)}"
        if (wait := throttle.reserve(chat, moment)) > 0:
            heapq.heappush(events, (moment + wait + rng.choice((0.0, 0.0, 0.002, 0.01)), sender, "ready"))
            continue
        chats[sender] = chat
        round_trip = rng.uniform(0.09, 0.11)
        counted.append(moment + round_trip / 2)
        heapq.heappush(events, (moment + round_trip, sender, "done"))
    counted.sort()
    assert all(later - earlier >= 1.0 for earlier, later in zip(counted, counted[30:], strict=False))
    assert counted[-1] - counted[0] < 599 / 30 * 1.05  # and still close to the limit


def test_throttle_capacity_is_what_the_pace_allows_soon() -> None:
    from datetime import UTC, datetime

    from bot.worker.throttle import Throttle

    throttle = Throttle(per_second=30, per_chat_interval=1.0)
    now = datetime(2026, 12, 20, 16, 1, tzinfo=UTC)
    assert throttle.capacity(now, 0.5) == 15
    assert throttle.reserve("a", now) == 0
    assert throttle.capacity(now, 0.5) == 14
    assert throttle.capacity(now, 0.0) == 0 and throttle.seconds_until_free(now) > 0.03
    assert throttle.chat_wait("a", now + timedelta(seconds=0.5)) == 0.5


def test_a_paced_broadcast_claims_what_the_throttle_can_send_and_defers_nothing(
        telegram_services: Services, telegram_api: Any) -> None:
    from bot.core.clock import utcnow
    from bot.core.messages import Inbound, Outbound
    from bot.worker.throttle import Throttle
    from storage.conversations import ContactRepository, ConversationRepository
    from storage.messages import MessageRepository

    telegram_api.rate_limit_per_second = 30
    now = utcnow()
    with telegram_services.database.session_scope() as session:
        for chat in range(45):
            contact = ContactRepository(session, telegram_services.cipher).get_or_create(
                Inbound("telegram", str(1000 + chat), f"u{chat}", kind="event"), now)
            conversations = ConversationRepository(session, telegram_services.cipher)
            conversation_id, _ = conversations.lock(contact.id, "es_MX", now)
            MessageRepository(session, telegram_services.cipher).queue(
                conversation_id, "telegram", Outbound(f"Recordatorio {chat}", kind="payment_reminder"), now,
                author="system")
    throttle = Throttle(per_second=30, per_chat_interval=1.0)
    dispatcher = Dispatcher(telegram_services.database, telegram_services.cipher, telegram_services.senders,
                            throttles={"telegram": throttle})
    claims = []
    while any(m.status == "queued" for m in outbound(telegram_services)):
        claims.append(dispatcher.run_once())
    calls = telegram_api.calls_to("sendMessage")
    assert len(calls) == 45 and telegram_api.rejected_429 == 0
    assert max(claims) <= 16  # half a second of sends at a time, not a batch of 50
    # Never more than 30 in any second, as the provider counts them (its own arrival times): every send is
    # more than a second after the one 30 places before it.
    assert all(later.at - earlier.at > 1.0 for earlier, later in zip(calls, calls[30:], strict=False))
    with telegram_services.database.session_scope() as session:
        outcomes = [a.outcome for a in session.execute(select(SendAttempt)).scalars()]
    assert outcomes == ["sent"] * 45  # every send on the first claim: nothing put back for later


def test_a_send_is_recorded_once_the_database_is_back_so_it_never_goes_twice(
        telegram_client: FlaskClient, telegram_services: Services, telegram_api: Any, monkeypatch: Any) -> None:
    """PostgreSQL restarting right after the provider accepted a message: the dispatcher waits to record it
    instead of leaving its claim to go stale (the next worker would send it again)."""
    from sqlalchemy.exc import OperationalError

    from storage.messages import MessageRepository

    post(telegram_client, telegram_text_update(1, 9, "hola"))
    mark_sent = MessageRepository.mark_sent
    outage = {"left": 3}

    def flaky(self: MessageRepository, *args: Any, **kwargs: Any) -> Any:
        if outage["left"]:
            outage["left"] -= 1
            raise OperationalError("UPDATE messages …", {}, ConnectionRefusedError("connection refused"))
        return mark_sent(self, *args, **kwargs)

    monkeypatch.setattr(MessageRepository, "mark_sent", flaky)
    pauses: list[float] = []
    dispatcher = Dispatcher(telegram_services.database, telegram_services.cipher, telegram_services.senders,
                            sleep=pauses.append)
    assert dispatcher.run_once() == 1  # one message of a conversation in flight at a time
    assert pauses == [0.5, 1.0, 2.0]
    assert dispatcher.run_once() == 1
    assert [m.status for m in outbound(telegram_services)] == ["sent", "sent"]
    assert len(telegram_api.calls_to("sendMessage")) == 2  # each sent once


def test_a_reply_is_claimed_ahead_of_a_broadcast_queued_before_it(
        telegram_client: FlaskClient, telegram_services: Services, telegram_api: Any) -> None:
    from sqlalchemy import update

    from bot.core.clock import utcnow
    from bot.core.messages import Outbound
    from storage.messages import MessageRepository
    from storage.models import Conversation

    for chat in range(100, 130):
        post(telegram_client, telegram_text_update(chat, chat, "hola"))
    earlier = utcnow() - timedelta(minutes=1)
    with telegram_services.database.session_scope() as session:
        session.execute(update(Message).values(status="sent"))
        messages = MessageRepository(session, telegram_services.cipher)
        for conversation_id in session.execute(select(Conversation.id)).scalars():
            messages.queue(conversation_id, "telegram", Outbound("Recordatorio de pago", kind="payment_reminder"),
                           earlier, author="system")
    post(telegram_client, telegram_text_update(500, 500, "hola"))  # an applicant writes during the broadcast
    dispatcher = Dispatcher(telegram_services.database, telegram_services.cipher, telegram_services.senders,
                            batch=5)
    assert dispatcher.run_once() == 5
    first = [call.params["chat_id"] for call in telegram_api.calls_to("sendMessage")]
    assert first[0] == 500 and first.count(500) == 1  # the welcome went first; reminders filled the batch
    assert first[1:] == [chat for chat in first[1:] if 100 <= chat < 130]
