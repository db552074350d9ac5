"""The mailer against a real SMTP server on loopback (aiosmtpd): plain, STARTTLS, SMTPS, AUTH, refusals, outages,
and the `.eml` outbox used when there is no SMTP_URL."""

from __future__ import annotations

import datetime
import email
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import locales as i18n
from bot.core.errors import ConfigurationError, SendError
from bot.service import enrollment_email as mailer
from bot.service.enrollment_email import build_enrollment_email
from bot.worker.mailer import Mailer, mask_address
from tests.fakes.smtp import PASSWORD, USER, Recorder
from tests.helpers import free_port

RECEIPT = b"%PDF-1.4\n% receipt of IMSS enrollment\n%%EOF\n"
SLIP = b"%PDF-1.4\n% linea de captura\n" + bytes(range(256)) + b"\n%%EOF\n"
@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1, and a client context that trusts exactly it."""

    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    # Verifying, hostname check included: the tests prove TLS works without turning verification off.
    client = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    return Certificate(server=server, client=client)


SmtpServer = Callable[..., tuple[Recorder, int]]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Start an aiosmtpd server on loopback with the given SMTP options (`auth=True` checks USER and PASSWORD);
    returns its recorder and port."""
    controllers: list[Controller] = []

    def start(host: str = "127.0.0.1", auth: bool = False, **options: Any) -> tuple[Recorder, int]:
        recorder, port = Recorder(), free_port(host)
        if auth:
            options["authenticator"] = recorder.authenticate
        controller = Controller(recorder, hostname=host, port=port, server_hostname="mail.test", **options)
        controller.start()
        controllers.append(controller)
        return recorder, port

    yield start
    for controller in controllers:
        controller.stop()


def enrollment(locale: str = "es_MX", to: str = "ana.lopez@example.mx") -> EmailMessage:
    return build_enrollment_email(to=to, mail_from="PTI Bot <bot@pti.example>", locale=locale,
                                  name="Ana <López> & Co", folio="PTI-2026-0042",
                                  deadline="17 de enero de 2027", business="Gestoría PTI",
                                  attachments=[("comprobante-imss.pdf", RECEIPT), ("linea-de-captura.pdf", SLIP)])


def pdfs(message: EmailMessage) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        assert part.get_content_type() == "application/pdf"
        found[str(part.get_filename())] = part.get_content()
    return found


def mailer_for(url: str | None, tmp_path: Path, **options: Any) -> Mailer:
    return Mailer(url, "PTI Bot <bot@pti.example>", tmp_path / "mail", timeout=5, **options)


@pytest.mark.parametrize("locale", ["es_MX", "en"])
def test_enrollment_email_is_delivered_over_plain_smtp(locale: str, smtp_server: SmtpServer, tmp_path: Path) -> None:
    recorder, port = smtp_server()
    message_id = mailer_for(f"smtp://127.0.0.1:{port}", tmp_path).send(enrollment(locale))

    received = recorder.message()
    envelope = recorder.envelopes[0]
    assert envelope.rcpt_tos == ["ana.lopez@example.mx"]
    assert envelope.mail_from == "bot@pti.example"
    assert received["Message-ID"] == message_id and message_id.endswith("@pti.example>")
    assert received["Date"]
    expected = i18n.translate(locale, mailer.SUBJECT, folio="PTI-2026-0042")
    assert received["Subject"] == expected
    assert (expected == "Your IMSS enrollment is done · folio PTI-2026-0042") == (locale == "en")
    assert pdfs(received) == {"comprobante-imss.pdf": RECEIPT, "linea-de-captura.pdf": SLIP}

    plain = received.get_body(("plain",))
    rich = received.get_body(("html",))
    assert plain is not None and rich is not None
    plain_text, html_text = plain.get_content(), rich.get_content()
    assert i18n.translate(locale, mailer.GREETING, name="Ana <López> & Co") in plain_text
    assert i18n.translate(locale, mailer.PAY, deadline="17 de enero de 2027") in plain_text
    assert i18n.translate(locale, mailer.SIGNATURE, business="Gestoría PTI") in plain_text
    assert "<strong>17 de enero de 2027</strong>" in html_text
    assert "Ana &lt;López&gt; &amp; Co" in html_text and "<López>" not in html_text
    assert "<strong>PTI-2026-0042</strong>" in html_text
    assert f'lang="{"es-MX" if locale == "es_MX" else "en"}"' in html_text
    assert recorder.over_tls == [False]


def test_starttls_is_used_when_offered(certificate: Certificate, smtp_server: SmtpServer, tmp_path: Path) -> None:
    recorder, port = smtp_server(tls_context=certificate.server, require_starttls=True)
    mailer_for(f"smtp://127.0.0.1:{port}", tmp_path, ssl_context=certificate.client).send(enrollment())
    assert recorder.over_tls == [True]
    assert pdfs(recorder.message())["linea-de-captura.pdf"] == SLIP


def test_an_untrusted_certificate_is_a_transient_error(certificate: Certificate, smtp_server: SmtpServer,
                                                       tmp_path: Path) -> None:
    recorder, port = smtp_server(tls_context=certificate.server)
    with pytest.raises(SendError) as caught:
        mailer_for(f"smtp://127.0.0.1:{port}", tmp_path).send(enrollment())  # the system trust store
    assert not caught.value.permanent
    assert recorder.envelopes == []


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_login_with_credentials_from_the_url(mechanism: str, smtp_server: SmtpServer, tmp_path: Path) -> None:
    other = "PLAIN" if mechanism == "LOGIN" else "LOGIN"
    recorder, port = smtp_server(auth=True, auth_require_tls=False, auth_exclude_mechanism=[other])
    url = f"smtp://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}"
    mailer_for(url, tmp_path).send(enrollment())
    assert recorder.mechanisms == [mechanism] and recorder.logins == [USER.encode()]


def test_login_over_starttls(certificate: Certificate, smtp_server: SmtpServer, tmp_path: Path) -> None:
    """The production shape: the server only allows AUTH once the connection is encrypted."""
    recorder, port = smtp_server(tls_context=certificate.server, auth=True, auth_required=True)
    url = f"smtp://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}"
    mailer_for(url, tmp_path, ssl_context=certificate.client).send(enrollment())
    assert recorder.over_tls == [True] and recorder.logins == [USER.encode()]


def test_a_wrong_password_is_a_configuration_problem_that_retries(smtp_server: SmtpServer, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    recorder, port = smtp_server(auth=True, auth_require_tls=False)
    with pytest.raises(SendError) as caught:
        mailer_for(f"smtp://{quote(USER, safe='')}:wrong-secret@127.0.0.1:{port}", tmp_path).send(enrollment())
    assert not caught.value.permanent
    assert "SMTP_URL" in caplog.text and "wrong-secret" not in caplog.text
    assert recorder.envelopes == []


def test_no_password_in_clear_to_a_remote_server_without_starttls(smtp_server: SmtpServer, tmp_path: Path) -> None:
    """Only the loopback names are exempt; 127.0.0.2 stands in for a remote relay that offers no TLS."""
    try:
        recorder, port = smtp_server(host="127.0.0.2", auth=True, auth_require_tls=False)
    except OSError as error:  # pragma: no cover - systems without the whole 127/8 on loopback
        pytest.skip(f"cannot listen on 127.0.0.2: {error}")
    url = f"smtp://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.2:{port}"
    with pytest.raises(SendError, match="no TLS"):
        mailer_for(url, tmp_path).send(enrollment())
    assert recorder.logins == [] and recorder.envelopes == []


def test_smtps_with_implicit_tls(certificate: Certificate, smtp_server: SmtpServer, tmp_path: Path) -> None:
    # aiosmtpd cannot tell an implicit-TLS connection from a plain one, so it needs leave to offer AUTH.
    recorder, port = smtp_server(ssl_context=certificate.server, auth=True, auth_require_tls=False)
    url = f"smtps://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}"
    mailer_for(url, tmp_path, ssl_context=certificate.client).send(enrollment("en"))
    assert recorder.over_tls == [True] and recorder.logins == [USER.encode()]
    assert pdfs(recorder.message())["comprobante-imss.pdf"] == RECEIPT


def test_a_refused_recipient_is_permanent_and_masked(smtp_server: SmtpServer, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    recorder, port = smtp_server()
    with pytest.raises(SendError) as caught:
        mailer_for(f"smtp://127.0.0.1:{port}", tmp_path).send(enrollment(to="nobody@example.mx"))
    assert caught.value.permanent
    assert "nobody@example.mx" not in caplog.text + str(caught.value)
    assert "n***@example.mx" in caplog.text
    assert recorder.envelopes == []


def test_a_busy_mailbox_is_transient(smtp_server: SmtpServer, tmp_path: Path) -> None:
    _recorder, port = smtp_server()
    with pytest.raises(SendError) as caught:
        mailer_for(f"smtp://127.0.0.1:{port}", tmp_path).send(enrollment(to="busy@example.mx"))
    assert not caught.value.permanent


def test_a_server_that_is_down_is_transient(tmp_path: Path) -> None:
    with pytest.raises(SendError) as caught:
        mailer_for(f"smtp://127.0.0.1:{free_port()}", tmp_path).send(enrollment())
    assert not caught.value.permanent


def test_without_smtp_url_mail_goes_to_private_eml_files(tmp_path: Path) -> None:
    message = enrollment()
    name = mailer_for(None, tmp_path).send(message)

    path = tmp_path / "mail" / name
    assert name.endswith(".eml") and path.is_file()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.as_bytes() == message.as_bytes()
    assert parsed["Message-ID"] == message["Message-ID"] and pdfs(parsed) == pdfs(message)
    assert mailer_for(None, tmp_path).send(enrollment()) != name


def test_send_fills_in_missing_headers(tmp_path: Path) -> None:
    bare = EmailMessage()
    bare["To"] = "ana@example.mx"
    bare["Subject"] = "hola"
    bare.set_content("hola")
    mailer_for(None, tmp_path).send(bare)
    assert bare["From"] == "PTI Bot <bot@pti.example>" and bare["Date"]
    assert str(bare["Message-ID"]).endswith("@pti.example>")


def test_smtp_url_is_checked_at_start(tmp_path: Path) -> None:
    for url in ("http://mail.example", "smtp://", "smtp://mail.example:port", "smtp://ana:contraseña@mail.example"):
        with pytest.raises(ConfigurationError):
            mailer_for(url, tmp_path)


def test_addresses_are_masked() -> None:
    assert mask_address("ana.lopez@example.mx") == "a***@example.mx"
    assert mask_address("not-an-address") == "***"
