"""A recording handler for a loopback aiosmtpd server: keeps every accepted message and how it arrived.

Addresses starting with `nobody@` are refused for good (550) and `busy@` for now (450), so the mailer's
handling of both can be seen; `authenticate` accepts exactly USER and PASSWORD.
"""

from __future__ import annotations

import email
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER, PASSWORD = "bot@pti.example", "p@ss:w/rd% #?1"


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every accepted message and how it arrived."""

    envelopes: list[Envelope] = field(default_factory=list)
    over_tls: list[bool] = field(default_factory=list)
    logins: list[bytes | None] = field(default_factory=list)
    mechanisms: list[str] = field(default_factory=list)

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        self.mechanisms.append(mechanism)
        good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(), PASSWORD.encode())
        return AuthResult(success=good, handled=False, auth_data=auth_data)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("nobody@"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("busy@"):
            return f"450 4.2.1 <{address}>: Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        assert server.transport is not None
        self.over_tls.append(server.transport.get_extra_info("ssl_object") is not None)
        self.logins.append(getattr(session.auth_data, "login", None) if session.authenticated else None)
        return "250 2.0.0 Queued"

    def message(self, index: int = -1) -> EmailMessage:
        content = self.envelopes[index].content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed
