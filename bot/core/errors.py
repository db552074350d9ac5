"""The bot's small error hierarchy: adapters translate provider errors into these."""

from __future__ import annotations


class BotError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigurationError(BotError):
    """The settings are incomplete or invalid; the process must not start."""


class BadRequest(BotError):
    """An inbound request is malformed (answer 400)."""


class Forbidden(BotError):
    """An inbound request failed verification (answer 403)."""


class SendError(BotError):
    """Sending an outbound message failed.

    Attributes:
        permanent: retrying will not help (blocked bot, invalid number).
        retry_after: seconds the provider asked us to wait, when it said so.
    """

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None,
                 outcome: str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        # "held": may not be sent now (WhatsApp window, no template) but may later;
        # "suppressed": must not be sent (the applicant opted out). Neither is the contact's fault.
        self.outcome = outcome


class MediaTooLarge(BotError):
    """A file the applicant sent is larger than the channel lets us download or we accept."""
