"""The webhook side of the inbound queue: store the delivery and answer; a worker runs the turn later.

A webhook verifies and parses the delivery, inserts it into the inbound queue (its provider id drops a
redelivery) and answers as soon as that commits; that is all the platform waits for. A worker then takes
the oldest waiting delivery of a chat, runs its turn and deletes the queue row in one transaction, so a
crash at any point either leaves the delivery queued or has finished its turn: an acknowledged message is
never lost and never run twice. A chat's deliveries are taken strictly in order, one at a time, however
many workers run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.core.clock import utcnow
from bot.core.messages import Inbound
from bot.core.metrics import DUPLICATES, INBOUND
from storage.crypto import Cipher
from storage.db import Database, notify_workers
from storage.inbound_queue import InboundQueueRepository

log = logging.getLogger(__name__)

class Intake:
    """The webhook side: store the delivery and return."""

    def __init__(self, database: Database, cipher: Cipher, clock: Callable[[], datetime] = utcnow,
                 on_accepted: Callable[[], None] | None = None) -> None:
        self.database = database
        self.cipher = cipher
        self.clock = clock
        self.on_accepted = on_accepted

    def accept(self, inbound: Inbound) -> bool:
        """Queue a delivery for its turn; False for a redelivery of one still waiting."""
        with self.database.session_scope() as session:
            added = InboundQueueRepository(session, self.cipher).add(inbound, self.clock())
            if added:
                notify_workers(session)
        (INBOUND if added else DUPLICATES).labels(inbound.channel).inc()
        if added and self.on_accepted:
            self.on_accepted()
        return added
