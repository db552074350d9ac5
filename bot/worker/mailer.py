"""Email out: the enrollment receipt reaches the applicant by SMTP, or lands as an `.eml` file in development."""

from __future__ import annotations

import logging
import os
import re
import secrets
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.core.errors import ConfigurationError, SendError
from bot.service.enrollment_email import message_domain
from storage.files import PRIVATE_DIR, PRIVATE_FILE, make_private_dir

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")



def mask_address(address: str) -> str:
    """`ana@example.mx` -> `a***@example.mx`: enough to tell messages apart in logs, not to identify anyone."""
    local, at, domain = address.strip().rpartition("@")
    return f"{local[:1]}***@{domain}" if at else "***"


def _redact(text: str) -> str:
    """Mask every address a server echoed back, since our errors end up in logs and the outbox table."""
    return _ADDRESS.sub(lambda match: mask_address(match.group()), text)


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {_redact(text)[:200]}"


class Mailer:
    """Sends `EmailMessage`s through the SMTP server of `SMTP_URL`, or into `outbox_dir` without one.

    Args:
        smtp_url: `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://...` (implicit TLS).
        mail_from: the envelope sender and the default `From`.
        outbox_dir: where `.eml` files go when there is no `smtp_url`.
        timeout: seconds for each network operation, so a stuck server cannot hold a worker.
        ssl_context: for STARTTLS and SMTPS; verifying by default, tests pass their own.
    """

    def __init__(self, smtp_url: str | None, mail_from: str, outbox_dir: Path, timeout: float = 20,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.mail_from = mail_from
        self.outbox_dir = outbox_dir
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._server: tuple[str, str, int] | None = None
        self._credentials: tuple[str, str] | None = None
        if smtp_url:
            url = urlsplit(smtp_url)
            try:
                port = url.port or DEFAULT_PORTS.get(url.scheme, 0)
            except ValueError as error:
                raise ConfigurationError("SMTP_URL has an invalid port") from error
            if url.scheme not in DEFAULT_PORTS or not url.hostname:
                raise ConfigurationError("SMTP_URL must look like smtp://user:pass@host:port or smtps://...")
            self._server = (url.scheme, url.hostname, port)
            if url.username:
                self._credentials = (unquote(url.username), unquote(url.password or ""))
                if not "".join(self._credentials).isascii():
                    # smtplib encodes AUTH as ASCII; better to refuse at start than fail on every send.
                    raise ConfigurationError("SMTP_URL: the user and password must be ASCII")

    def send(self, message: EmailMessage) -> str:
        """Deliver `message`, filling in `From`, `Message-ID` and `Date` when missing.

        Returns its `Message-ID` (SMTP) or the `.eml` file name (no SMTP), for the outbox record.

        Raises:
            SendError: `permanent` when the server rejected the message or recipient for good.
        """
        if message["From"] is None:
            message["From"] = self.mail_from
        if message["Message-ID"] is None:
            message["Message-ID"] = make_msgid(domain=message_domain(self.mail_from))
        if message["Date"] is None:
            message["Date"] = formatdate(usegmt=True)
        if self._server is None:
            return self._write(message)
        self._deliver(message, *self._server)
        return str(message["Message-ID"])

    def _write(self, message: EmailMessage) -> str:
        """Development default: a private file per message, readable with any mail client."""
        make_private_dir(self.outbox_dir)  # and the data directory above, when this creates it
        os.chmod(self.outbox_dir, PRIVATE_DIR)  # one made by an older version may be open to others
        name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(6)}.eml"
        fd = os.open(self.outbox_dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(message.as_bytes())
        log.info("mail %s for %s written to %s", message["Message-ID"], _recipients(message), name)
        return name

    def _deliver(self, message: EmailMessage, scheme: str, host: str, port: int) -> None:
        where = f"{host}:{port}"
        context = self._ssl_context or ssl.create_default_context()
        try:
            client = (smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=context) if scheme == "smtps"
                      else smtplib.SMTP(host, port, timeout=self.timeout))
            with client:
                client.ehlo()
                encrypted = scheme == "smtps"
                if not encrypted and client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                    encrypted = True
                if self._credentials:
                    if not encrypted and host not in _LOOPBACK:
                        # A stripped STARTTLS must not trick us into sending the password in clear.
                        log.error("SMTP server %s offers no STARTTLS; not sending the SMTP_URL password in clear",
                                  where)
                        raise SendError(f"SMTP server {where} offers no TLS for login")
                    client.login(*self._credentials)
                refused = client.send_message(message, from_addr=parseaddr(self.mail_from)[1])
        except smtplib.SMTPAuthenticationError as error:
            # A configuration problem, not the applicant's: retry once the admin fixes SMTP_URL.
            log.error("SMTP login to %s refused (%s): check the user and password in SMTP_URL",
                      where, _reply(error.smtp_code, error.smtp_error))
            raise SendError(f"SMTP login refused: {_reply(error.smtp_code, error.smtp_error)}") from error
        except smtplib.SMTPNotSupportedError as error:
            log.error("SMTP server %s does not offer AUTH here: %s; check SMTP_URL", where, error)
            raise SendError(f"SMTP server {where} does not offer AUTH") from error
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _text in error.recipients.values()})
            permanent = all(500 <= code < 600 for code in codes)
            log.warning("SMTP %s refused %s (%s)", where, _recipients(message), codes)
            raise SendError(f"recipient refused: {codes}", permanent=permanent) from error
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            reply = _reply(error.smtp_code, error.smtp_error)
            log.warning("SMTP %s rejected mail for %s: %s", where, _recipients(message), reply)
            raise SendError(f"message rejected: {reply}", permanent=500 <= error.smtp_code < 600) from error
        except smtplib.SMTPResponseException as error:
            reply = _reply(error.smtp_code, error.smtp_error)
            log.warning("SMTP %s answered %s", where, reply)
            raise SendError(f"SMTP error: {reply}") from error
        except ssl.SSLCertVerificationError as error:
            log.error("SMTP server %s has a certificate we cannot verify: %s", where, error.verify_message)
            raise SendError(f"SMTP TLS certificate of {where} not trusted") from error
        except (smtplib.SMTPException, OSError) as error:  # disconnects, refused connections, timeouts, TLS
            log.warning("SMTP %s unreachable: %s", where, _redact(str(error)) or type(error).__name__)
            raise SendError(f"SMTP server {where} unreachable: {type(error).__name__}") from error
        if refused:
            log.warning("SMTP %s refused some recipients: %s", where, ", ".join(map(mask_address, refused)))
        log.info("mail %s for %s sent through %s", message["Message-ID"], _recipients(message), where)


def _recipients(message: EmailMessage) -> str:
    addresses = [parseaddr(value)[1] for field in ("To", "Cc", "Bcc") for value in message.get_all(field, [])]
    return ", ".join(mask_address(address) for address in addresses) or "nobody"
