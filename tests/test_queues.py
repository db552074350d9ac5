"""The queues' shared mechanics on a real database: stale claims taken over, attempts that run out, backoff."""

from __future__ import annotations

import socket
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.clock import utcnow
from bot.core.messages import Attachment, Inbound, Outbound
from bot.wiring import Services
from bot.worker.mail import MailJob
from bot.worker.mailer import Mailer
from storage.conversations import ContactRepository, ConversationRepository
from storage.emails import claim_emails, queue_email
from storage.media_jobs import MediaJobRepository
from storage.messages import MessageRepository
from storage.models import Email, MediaJob, Message
from storage.queues import EMAIL, INBOUND, MEDIA, OUTBOX, QueuePolicy


def test_each_queue_keeps_its_limits() -> None:
    table = {name: (policy.max_attempts, policy.stale_after, policy.base_delay, policy.max_delay)
             for name, policy in (("outbox", OUTBOX), ("inbound", INBOUND), ("media", MEDIA), ("email", EMAIL))}
    assert table == {
        "outbox": (8, timedelta(minutes=2), 2.0, 600.0),
        "inbound": (5, None, 2.0, 600.0),
        "media": (6, timedelta(minutes=5), 2.0, 600.0),
        "email": (10, timedelta(minutes=10), 2.0, 600.0),
    }


@pytest.mark.parametrize("policy", [OUTBOX, INBOUND, MEDIA, EMAIL])
def test_a_job_gets_max_attempts_in_all_or_one_when_the_failure_is_permanent(policy: QueuePolicy) -> None:
    assert [policy.gives_up(made) for made in range(policy.max_attempts)] == \
        [False] * (policy.max_attempts - 1) + [True]
    assert policy.gives_up(0, permanent=True)


def test_backoff_doubles_up_to_its_cap_and_jitter_spreads_it_over_the_upper_half() -> None:
    policy = QueuePolicy(max_attempts=3, stale_after=None, base_delay=2.0, max_delay=600.0)
    assert (policy.backoff(0, lambda: 0.0), policy.backoff(0, lambda: 1.0)) == (1.0, 2.0)
    assert (policy.backoff(3, lambda: 0.0), policy.backoff(3, lambda: 1.0)) == (8.0, 16.0)
    assert policy.backoff(30, lambda: 1.0) == 600.0
    for attempts in range(12):
        ceiling = min(600.0, 2.0 * 2 ** attempts)
        assert ceiling / 2 <= policy.backoff(attempts) <= ceiling
    now = utcnow()
    assert policy.retry_at(2, now, lambda: 0.5) == now + timedelta(seconds=6)


def test_a_stale_email_claim_is_taken_over_and_stays_due(services: Services) -> None:
    """Emails keep their claim time in the due time, so the takeover must leave it set."""
    now = utcnow()
    with services.database.session_scope() as session:
        queue_email(session, services.cipher, None, b"Subject: hola\r\n\r\nhola", now)
    with services.database.session_scope() as session:
        first = claim_emails(session, services.cipher, now)
    assert [(attempts, raw) for _, attempts, raw in first] == [(0, b"Subject: hola\r\n\r\nhola")]
    with services.database.session_scope() as session:  # still being sent, as far as anyone knows
        assert claim_emails(session, services.cipher, now + timedelta(minutes=9)) == []
    with services.database.session_scope() as session:
        again = claim_emails(session, services.cipher, now + timedelta(minutes=11))
        row = session.execute(select(Email)).scalar_one()
        assert (row.status, row.attempts) == ("sending", 0)  # the lost attempt is not counted
    assert [email_id for email_id, _, _ in again] == [first[0][0]]


def test_a_stale_media_claim_is_taken_over_only_when_recovery_runs(services: Services) -> None:
    services.turns.handle(Inbound("telegram", "42", "u1", text="hola"))
    now = utcnow()
    with services.database.session_scope() as session:
        message_id = session.execute(select(Message.id).where(Message.direction == "in")).scalar_one()
        MediaJobRepository(session, services.cipher).add(
            message_id, "telegram", Attachment("image", "file-1", "image/jpeg"), now)
    with services.database.session_scope() as session:
        jobs = MediaJobRepository(session, services.cipher).claim_due(now, 5)
    assert [(job.ref, job.contact_ref) for job in jobs] == [("file-1", "42")]  # the chat, from the message's contact
    assert MEDIA.stale_after is not None
    later = now + MEDIA.stale_after + timedelta(seconds=1)
    with services.database.session_scope() as session:
        assert MediaJobRepository(session, services.cipher).claim_due(later, 5, recover=False) == []
    with services.database.session_scope() as session:
        assert [job.id for job in MediaJobRepository(session, services.cipher).claim_due(later, 5)] == [jobs[0].id]
        row = session.execute(select(MediaJob)).scalar_one()
        assert (row.status, row.claimed_at, row.attempts) == ("fetching", later, 0)


def test_an_email_that_keeps_failing_is_given_up_after_its_attempts(services: Services, tmp_path: Path) -> None:
    """The real mail job against an SMTP port nobody listens on, retried whenever it falls due."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    message = EmailMessage()
    message["To"], message["Subject"] = "ana.lopez@example.mx", "Tu alta"
    message.set_content("hola")
    now = [utcnow()]
    with services.database.session_scope() as session:
        queue_email(session, services.cipher, None, message.as_bytes(), now[0])
    job = MailJob(services.database, services.cipher,
                  Mailer(f"smtp://127.0.0.1:{port}", "PTI Bot <bot@pti.example>", tmp_path / "mail", timeout=5),
                  clock=lambda: now[0])
    waits = []
    for _ in range(EMAIL.max_attempts):
        assert job.run_once() == 1
        with services.database.session_scope() as session:
            row = session.execute(select(Email)).scalar_one()
        assert row.next_attempt_at is not None
        waits.append((row.next_attempt_at - now[0]).total_seconds())
        now[0] = row.next_attempt_at
    assert (row.status, row.attempts) == ("failed", EMAIL.max_attempts)
    assert all(min(600.0, 2.0 * 2 ** n) / 2 <= wait <= min(600.0, 2.0 * 2 ** n) for n, wait in enumerate(waits))
    now[0] += timedelta(days=1)
    assert job.run_once() == 0


@pytest.mark.postgres
def test_two_workers_claiming_at_once_never_take_the_same_row(services: Services) -> None:
    now = utcnow()
    with services.database.session_scope() as session:
        for n in range(3):
            queue_email(session, services.cipher, None, f"Subject: {n}\r\n\r\n".encode(), now)
    with services.database.session_scope() as first, services.database.session_scope() as second:
        taken = [email_id for email_id, _, _ in claim_emails(first, services.cipher, now, limit=2)]
        other = [email_id for email_id, _, _ in claim_emails(second, services.cipher, now, limit=2)]
    assert len(taken) == 2 and len(other) == 1 and not set(taken) & set(other)


def test_a_sender_going_on_claims_the_rest_of_its_answer_only(services: Services) -> None:
    """The bubbles one turn queued share their moment; a newer answer of the chat is left to wait in line."""
    now = utcnow()
    later = now + timedelta(seconds=1)
    with services.database.session_scope() as session:
        contact = ContactRepository(session, services.cipher).get_or_create(
            Inbound("telegram", "42", "u42", kind="event"), now)
        conversation_id, _ = ConversationRepository(session, services.cipher).lock(contact.id, "es_MX", now)
        messages = MessageRepository(session, services.cipher)
        first, rest = (messages.queue(conversation_id, "telegram", Outbound(text), now) for text in ("uno", "dos"))
        newer = messages.queue(conversation_id, "telegram", Outbound("tres"), later)
    with services.database.session_scope() as session:
        messages = MessageRepository(session, services.cipher)
        (claimed,) = messages.claim_due(later, 1, conversation_id=conversation_id)
        assert claimed.id == first and claimed.queued_at == now and claimed.due_at == now and claimed.followed
        messages.mark_sent(first, "42:7", later, chat="42")
        (going_on,) = messages.claim_due(later, 1, conversation_id=conversation_id, queued_by=claimed.queued_at)
        assert going_on.id == rest
        messages.mark_sent(rest, None, later, chat="42")
        assert messages.claim_due(later, 1, conversation_id=conversation_id, queued_by=claimed.queued_at) == []
        (last,) = messages.claim_due(later, 1, conversation_id=conversation_id)
        assert last.id == newer and not last.followed  # nothing after it: no bubbles to look for
        sealed = session.get(Message, first)
        assert sealed is not None and sealed.provider_id == f"{services.cipher.identifier_hash('42')[:16]}:7"
