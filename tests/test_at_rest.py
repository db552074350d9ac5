"""No personal identifier in clear at rest: after a full journey (and after "borrar mis datos") the raw bytes of
the database file, its write-ahead log and the logs hold no phone number, CURP, RFC, NSS or email; channel ids
are stored keyed-hashed and encrypted (migration 0014 converts those already stored); files are private."""

from __future__ import annotations

import io
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from sqlalchemy import DateTime, bindparam, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.core.logs import configure
from bot.web.app import create_app
from bot.wiring import Services, build_services
from bot.worker.mailer import Mailer
from bot.worker.retention import RetentionJob
from storage.conversations import contact_external_id
from storage.crypto import Cipher
from storage.media_jobs import MediaJobRepository
from storage.migrate import upgrade
from storage.models import Contact, Conversation, MediaJob, Message, SendAttempt
from tests.helpers import (
    CURP,
    ELIGIBLE,
    FULL_NAME,
    NSS,
    RFC,
    Phone,
    WhatsAppUser,
    drain_outbox,
    enrolled_applicant,
)
from tests.samples import id_card_photo

ROOT = Path(__file__).resolve().parent.parent
WHATSAPP_NUMBER = "+5215598765432"
# What the two applicants give: the web chat one types the phone (enrolled_applicant), the WhatsApp one is it.
IDENTIFIERS = (CURP, RFC, NSS, "ana@example.mx", "5512345678", WHATSAPP_NUMBER, WHATSAPP_NUMBER[1:],
               WHATSAPP_NUMBER[-10:])


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Everything the app logs at DEBUG, through the product's own handler (the one `ptibot` installs)."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure(logging.DEBUG, stream=stream)
    for name in ("httpx", "httpcore", "twilio", "werkzeug", "bot", "storage", "alembic"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    root.handlers, level = saved
    root.setLevel(level)


def sqlite_files(services: Services) -> list[Path]:
    path = Path(make_url(services.settings.database_url).database or "")
    return [p for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))) if p.exists()]


def raw_stored(services: Services) -> bytes:
    """What a copy of the database would show, without the keys: the bytes of the SQLite file and its
    write-ahead log (free pages included), or on PostgreSQL every column of every row as stored."""
    if not services.database.is_postgres:
        return b"".join(path.read_bytes() for path in sqlite_files(services))
    chunks: list[bytes] = []
    with services.database.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                chunks.extend(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for v in row)
    return b"\n".join(chunks)


def assert_no_identifier(where: str, content: bytes) -> None:
    for value in IDENTIFIERS:
        assert value.encode() not in content, f"{value} in clear in {where}"
        assert value.encode("utf-16-le") not in content, f"{value} in clear (UTF-16) in {where}"


def ciphertexts_of(services: Services, external_id: str) -> list[bytes]:
    """The encrypted values held for one contact: a copy of the database and a key would open them."""
    with services.database.session_scope() as session:
        contact = session.execute(select(Contact).where(
            Contact.external_hash == services.cipher.identifier_hash(external_id))).scalar_one()
        conversation = session.execute(select(Conversation).where(Conversation.contact_id == contact.id)).scalar_one()
        bodies = session.execute(select(Message.body).where(Message.conversation_id == conversation.id)).scalars()
        tokens = [contact.external_ref, contact.phone, contact.display_name, conversation.data, *bodies]
    return [bytes(token) for token in tokens if token]


def test_a_journey_and_its_erasure_leave_no_identifier_in_clear(
        log_stream: io.StringIO, whatsapp_client: FlaskClient, whatsapp_services: Services, twilio_api: Any) -> None:
    services = whatsapp_services
    phone = Phone(whatsapp_client)
    enrolled_applicant(phone)
    ana = WhatsAppUser(whatsapp_client, services, twilio_api, WHATSAPP_NUMBER)
    for said in ("hola", "1", "acepto", "acepto", *ELIGIBLE, "2", "continuar", FULL_NAME, CURP, RFC, NSS,
                 "ana@example.mx"):
        ana.say(said)
    ana.send_media((id_card_photo(), "image/jpeg"))
    drain_outbox(services)
    with services.database.session_scope() as session:
        assert session.execute(select(MediaJob.status)).scalar_one() == "done"  # it found its chat's contact
        contact = session.execute(select(Contact).where(Contact.channel == "whatsapp")).scalar_one()
        assert contact.external_hash == services.cipher.identifier_hash(WHATSAPP_NUMBER)
        assert contact_external_id(services.cipher, contact.external_ref) == WHATSAPP_NUMBER
    assert twilio_api.messages()[-1]["To"] == f"whatsapp:{WHATSAPP_NUMBER}"  # the senders still reach them
    stored = raw_stored(services)
    assert_no_identifier("the database", stored)
    assert_no_identifier("the logs", log_stream.getvalue().encode())
    assert _webchat_id(phone).encode() not in stored  # nor the web chat's session id (its messages' ids began so)

    erased = ciphertexts_of(services, _webchat_id(phone)) + ciphertexts_of(services, WHATSAPP_NUMBER)
    phone.send("borrar mis datos")
    phone.send("sí")
    ana.say("borrar mis datos")
    ana.say("sí")
    drain_outbox(services)
    RetentionJob(services.database, services.cipher, services.documents).run_once()  # purges the told contacts
    with services.database.session_scope() as session:
        assert session.execute(select(Contact)).scalars().all() == []  # both purged once told
    stored = raw_stored(services)
    assert_no_identifier("the database after erasure", stored)
    assert_no_identifier("the logs after erasure", log_stream.getvalue().encode())
    if not services.database.is_postgres:
        # secure_delete zeroes the erased rows in their pages; the checkpoint empties the write-ahead log of
        # the page images written before the erasure. Without both, these tokens are still in the files.
        lingering = [token[:24] for token in erased if token in stored]
        assert not lingering, f"{len(lingering)} of {len(erased)} erased ciphertexts still in the files"


def _webchat_id(phone: Phone) -> str:
    with phone.client.session_transaction() as session:
        return str(session["webchat_id"])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def ptibot(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_database_documents_mail_and_secrets_are_private_to_the_user(tmp_path: Path) -> None:
    data = tmp_path / "var" / "data"
    env = {"PATH": "/usr/bin:/bin", "PTIBOT_DATA_DIR": str(data)}
    saved_umask = os.umask(0o022)  # the usual umask: without care, files 0644 in 0755 folders
    try:
        ptibot(env, "db", "upgrade")  # creates the data dir, the development secrets and the database
        settings = Settings.from_env(environ=env, cwd=tmp_path)
        services = build_services(settings)
        try:
            phone = Phone(create_app(settings, services).test_client())
            phone.send("hola")
            phone.upload(id_card_photo(), "frente.jpg")
            message = EmailMessage()
            message["To"], message["Subject"] = "ana@example.mx", "Tu folio"
            Mailer(None, "bot@example.mx", data / "mail").send(message)
            check_private(data)
            assert (data / "ptibot.sqlite3-wal").exists() and list((data / "documents").rglob("*"))
            assert mode(data.parent) == 0o700  # created by us along the way
            # An older version's files, open to everyone: the next start closes them.
            for path in (data, *data.rglob("*")):
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
        finally:
            services.close()
        ptibot(env, "db", "upgrade")
        services = build_services(Settings.from_env(environ=env, cwd=tmp_path))
        services.close()
        Mailer(None, "bot@example.mx", data / "mail").send(message)
        for path in (data, data / "mail"):
            assert mode(path) == 0o700
        for name in ("ptibot.sqlite3", "ptibot.sqlite3-wal", "ptibot.sqlite3-shm", "secret_key",
                     "data_encryption_key"):
            if (data / name).exists():
                assert mode(data / name) == 0o600, name
    finally:
        os.umask(saved_umask)


def check_private(data: Path) -> None:
    """Every folder under the data directory 0700 and every file 0600."""
    assert mode(data) == 0o700
    seen = {path.name for path in data.rglob("*")}
    assert {"ptibot.sqlite3", "secret_key", "data_encryption_key", "documents", "mail"} <= seen, seen
    for path in data.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), f"{path.relative_to(data)}: {oct(mode(path))}"


def test_upgrading_hashes_and_encrypts_the_channel_ids_already_stored(fresh_database_url: str,
                                                                      tmp_path: Path) -> None:
    url = fresh_database_url
    upgrade(url, "0013")
    secret, key = "s" * 40, Fernet.generate_key().decode()
    cipher = Cipher((key,), search_key=secret)
    body = cipher.encrypt_json({"text": "hola"})
    now = datetime.now(UTC)
    engine = create_engine(url)
    with engine.begin() as connection:  # what 0013 held: the number in clear, twice
        def insert(statement: str, **values: Any) -> Any:
            query = text(statement).bindparams(bindparam("now", type_=DateTime(timezone=True)))
            return connection.execute(query, {"now": now, **values})

        contact = insert(
            "INSERT INTO contacts (channel, external_id, reachable, opted_out, erase_pending, created_at) "
            "VALUES ('whatsapp', :number, true, false, false, :now) RETURNING id",
            number=WHATSAPP_NUMBER).scalar_one()
        insert(
            "INSERT INTO contacts (channel, external_id, reachable, opted_out, erase_pending, created_at) "
            "VALUES ('telegram', '-100200300', true, false, false, :now)")
        conversation = insert(
            "INSERT INTO conversations (contact_id, flow, state, history, locale, owner, misses, turns, created_at) "
            "VALUES (:contact, '', '', '[]', 'es_MX', 'bot', 0, 0, :now) RETURNING id",
            contact=contact).scalar_one()
        message = insert(
            "INSERT INTO messages (conversation_id, channel, direction, author, provider_id, body, status, attempts, "
            "created_at) VALUES (:conversation, 'whatsapp', 'in', 'contact', 'SM1', :body, 'received', 0, :now) "
            "RETURNING id", conversation=conversation, body=body).scalar_one()
        chat = insert(
            "INSERT INTO conversations (contact_id, flow, state, history, locale, owner, misses, turns, created_at) "
            "SELECT id, '', '', '[]', 'es_MX', 'bot', 0, 0, :now FROM contacts WHERE channel = 'telegram' "
            "RETURNING id").scalar_one()
        sent = insert(  # Telegram's sent messages were known by `<chat id>:<message id>`
            "INSERT INTO messages (conversation_id, channel, direction, author, provider_id, body, status, attempts, "
            "created_at) VALUES (:chat, 'telegram', 'out', 'bot', '-100200300:77', :body, 'sent', 1, :now) "
            "RETURNING id", chat=chat, body=body).scalar_one()
        insert("INSERT INTO send_attempts (message_id, attempted_at, outcome, provider_id) "
               "VALUES (:sent, :now, 'sent', '-100200300:77')", sent=sent)
        insert(
            "INSERT INTO media_jobs (message_id, channel, contact_ref, ref, status, attempts, next_attempt_at, "
            "created_at) VALUES (:message, 'whatsapp', :number, :ref, 'queued', 0, :now, :now)",
            message=message, number=WHATSAPP_NUMBER,
               ref=cipher.encrypt(b"https://api.twilio.com/media"))
    engine.dispose()
    with pytest.raises(RuntimeError, match="needs the keys"):
        upgrade(url)  # without the keys it refuses rather than leave the numbers in clear

    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "PTIBOT_DATA_DIR": str(tmp_path / "data"),
           "SECRET_KEY": secret, "DATA_ENCRYPTION_KEYS": key}
    ptibot(env, "db", "upgrade")  # the release step of a deployment
    newer = Fernet.generate_key().decode()
    ptibot({**env, "DATA_ENCRYPTION_KEYS": f"{newer},{key}"}, "keys", "rotate")  # the ids too: the old key can go
    env["DATA_ENCRYPTION_KEYS"], cipher = newer, Cipher((newer,), search_key=secret)

    services = build_services(Settings.from_env(environ=env, cwd=tmp_path))
    try:
        with services.database.session_scope() as session:
            rows = {c.channel: c for c in session.execute(select(Contact)).scalars()}
            assert rows["whatsapp"].external_hash == cipher.identifier_hash(WHATSAPP_NUMBER)
            assert contact_external_id(cipher, rows["whatsapp"].external_ref) == WHATSAPP_NUMBER
            assert contact_external_id(cipher, rows["telegram"].external_ref) == "-100200300"
            jobs = MediaJobRepository(session, services.cipher).claim_due(now, 10)
            assert [job.contact_ref for job in jobs] == [WHATSAPP_NUMBER]  # read through its message's contact
        from bot.core.messages import Inbound
        from storage.conversations import ContactRepository

        with services.database.session_scope() as session:  # the same person, not a new contact
            found = ContactRepository(session, services.cipher).get_or_create(
                Inbound("whatsapp", WHATSAPP_NUMBER, "SM2", text="hola"), now)
            assert found.id == contact
        with services.database.session_scope() as session:
            sealed = f"{cipher.identifier_hash('-100200300')[:16]}:77"
            assert session.execute(select(Message.provider_id).where(Message.id == sent)).scalar_one() == sealed
            assert session.execute(select(SendAttempt.provider_id)).scalar_one() == sealed
        assert_no_identifier("the migrated database", raw_stored(services))
        assert b"100200300" not in raw_stored(services)
    finally:
        services.close()
