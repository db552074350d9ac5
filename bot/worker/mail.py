"""Emails to applicants go through their own outbox: queued in the transaction that decides them
(`storage.emails`), sent here by the worker with retries."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.core.clock import utcnow
from bot.core.errors import SendError
from bot.worker.mailer import Mailer
from storage.crypto import Cipher
from storage.db import Database
from storage.emails import claim_emails, record_email_attempt
from storage.queues import EMAIL

log = logging.getLogger(__name__)


class MailJob:
    def __init__(self, database: Database, cipher: Cipher, mailer: Mailer,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.database, self.cipher, self.mailer, self.clock = database, cipher, mailer, clock

    def run_once(self) -> int:
        from email import message_from_bytes, policy
        from email.message import EmailMessage

        now = self.clock()
        with self.database.session_scope() as session:
            jobs = claim_emails(session, self.cipher, now)
        for email_id, attempts, raw in jobs:
            message = message_from_bytes(raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            values: dict[str, object]
            try:
                self.mailer.send(message)
                values = {"status": "sent", "sent_at": self.clock(), "last_error": None}
            except SendError as error:
                failed = EMAIL.gives_up(attempts, permanent=error.permanent)
                values = {"status": "failed" if failed else "queued", "last_error": str(error),
                          "next_attempt_at": EMAIL.retry_at(attempts, self.clock())}
                log.warning("email %s %s: %s", email_id, "failed" if failed else "will be retried", error)
            with self.database.session_scope() as session:
                record_email_attempt(session, email_id, **values)
        return len(jobs)
