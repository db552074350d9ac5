"""Channel adapters: verify a request, parse it into `Inbound`, send an `Outbound`. Nothing else."""

from __future__ import annotations

from typing import Protocol

from bot.core.messages import Outbound, Recipient, SendResult


class Sender(Protocol):
    """The sending half of a channel, used by the outbox dispatcher."""

    def send(self, recipient: Recipient, outbound: Outbound) -> SendResult:
        """Deliver one message; raise `bot.core.errors.SendError` on failure."""
        ...
