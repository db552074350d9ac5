"""Data rights (LFPDPPP 2025): access with an export, erasure that leaves no personal value behind,
opposition, requests with their deadline in the inbox, key rotation, re-acceptance of changed texts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import func, select, text

from bot.core.clock import utcnow
from bot.core.messages import Inbound
from bot.wiring import Services, build_services
from bot.worker.outbox import Dispatcher
from bot.worker.retention import RetentionJob
from locales import translate
from storage.crypto import Cipher
from storage.models import (
    Case,
    Contact,
    Conversation,
    Document,
    Message,
    QueuedInbound,
    RightsRequest,
    Subscription,
)
from tests.helpers import Phone, buy_membership, enrolled_applicant, login, make_settings, make_staff

ROOT = Path(__file__).resolve().parent.parent
PERSONAL = ("GODE561231HDFNZD03", "GODE561231GR8", "12345612340", "ana@example.mx", "5512345678",
            "Eduardo González Díaz", "Av. Juárez 123", "carpintero")


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def everything_stored(services: Services) -> bytes:
    """Every byte the database and the document store hold, with every encrypted value decrypted too."""
    chunks: list[bytes] = []
    with services.database.engine.connect() as connection:
        tables = [t for t in services.database.engine.dialect.get_table_names(connection) if t != "alembic_version"]
        for table in tables:
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        raw = bytes(value)
                        chunks.append(raw)
                        try:
                            chunks.append(services.cipher.decrypt(raw))
                        except Exception:  # not every blob is a Fernet token
                            pass
                    elif value is not None:
                        chunks.append(str(value).encode())
    for path in Path(services.settings.data_dir, "documents").rglob("*"):
        if path.is_file():
            chunks.append(path.read_bytes())
            chunks.append(services.cipher.decrypt(path.read_bytes()))
    return b"\n".join(chunks)


def test_access_shows_the_data_and_a_working_export(phone: Phone, services: Services) -> None:
    enrolled_applicant(phone)
    replies = phone.send("mis datos")
    summary = replies[0]["text"]
    assert "GODE561231HDFNZD03" in summary and "ana@example.mx" in summary
    link = next(r["text"] for r in replies if "/data-export/" in r["text"]).split(": ")[-1].strip()
    path = link.split("127.0.0.1:8000")[-1]
    exported = phone.client.get(path)
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    content = exported.get_json()
    assert content["collected_data"]["curp"] == "GODE561231HDFNZD03"
    assert content["case"]["folio"].startswith("PTI-2026-")
    assert {c["kind"] for c in content["consents"]} >= {"terms", "privacy", "financial", "health"}
    assert len(content["documents"]) == 6  # four documents, the transfer receipt and our payment receipt
    assert "GODE561231HDFNZD03" in phone.client.get(path + "?format=html").get_data(as_text=True)
    assert phone.client.get("/data-export/forged").status_code == 404
    from bot.service.links import export_url

    gone = export_url(services.settings.secret_key, "", 999999)  # validly signed, for an erased contact
    assert phone.client.get(gone).status_code == 404
    with services.database.session_scope() as session:
        request = session.execute(select(RightsRequest)).scalar_one()
        assert request.kind == "access" and request.completed_at is not None
        assert (request.due_at - request.requested_at).days >= 26  # 20 business days


def test_erasure_leaves_no_personal_value_and_keeps_anonymous_counts(phone: Phone, services: Services,
                                                                     app: Flask) -> None:
    enrolled_applicant(phone)
    assert b"GODE561231HDFNZD03" in everything_stored(services)  # the scan does see decrypted values
    phone.send("borrar mis datos")
    assert phone.text() == es("Are you sure you want me to delete your personal data? This cannot be undone.")
    replies = phone.send("sí")
    assert replies[0]["text"] == es("Done: I deleted your personal data from this conversation.")
    Dispatcher(services.database, services.cipher, services.senders).run_once()
    RetentionJob(services.database, services.cipher, services.documents).run_once()
    stored = everything_stored(services)
    for value in PERSONAL:
        assert value.encode() not in stored, value
    assert not [p for p in Path(services.settings.data_dir, "documents").rglob("*") if p.is_file()]
    with services.database.session_scope() as session:
        case = session.execute(select(Case)).scalar_one()
        assert (case.status, case.data, case.contact_id) == ("cancelled", None, None)
        assert session.execute(select(func.count()).select_from(Contact)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0
        request = session.execute(select(RightsRequest)).scalar_one()
        assert request.kind == "cancellation" and "in progress" in (request.detail or "")
    make_staff(services)
    staff = app.test_client()
    login(staff)
    page = staff.get("/inbox/rights").get_data(as_text=True)
    assert case.folio in page and "in progress" in page
    assert "PTI-2026" in staff.get("/inbox/cases").get_data(as_text=True)  # the anonymous case still counts
    again = phone.send("hola")  # the same browser is a stranger now
    assert "IMSS" in again[0]["text"]


def test_opposition_stops_reminders_and_notices(phone: Phone, services: Services) -> None:
    buy_membership(phone)
    phone.send("me opongo")
    phone.press(es("Yes, stop them"))
    assert es("Done: we will only write to you about your procedure when you ask us.") in phone.text()
    with services.database.session_scope() as session:
        assert session.execute(select(Contact.opted_out)).scalar_one() is True
        assert session.execute(select(Subscription.active)).scalar_one() is False
        assert session.execute(select(RightsRequest.kind)).scalar_one() == "opposition"


def test_changed_terms_are_accepted_again_before_anything_else(phone: Phone, services: Services,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    phone.send("hola")
    phone.send("1")
    phone.send("acepto")
    phone.send("acepto")
    with services.database.session_scope() as session:
        conversation = session.execute(select(Conversation)).scalar_one()
        data = services.cipher.decrypt_json(conversation.data)
        data["terms_version"] = "2020-01-01"  # accepted an older version
        conversation.data = services.cipher.encrypt_json(data)
    replies = phone.send("si")
    assert replies[0]["text"].startswith(es("We updated our terms of service and privacy notice. Please read them "
                                            "and accept them to go on:\nTerms: %(terms_url)s\nPrivacy: "
                                            "%(privacy_url)s", terms_url="x", privacy_url="y")[:20])
    phone.press(es("I accept"))
    assert es("Do you earn income from your own activity (business, trade, fees, sales…)?") in phone.text()


def test_keys_rotate_then_the_old_key_can_go(database_url: str, tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = make_settings(database_url, tmp_path / "data", data_encryption_keys=(old,))
    services = build_services(settings)
    from bot.web.app import create_app

    phone = Phone(create_app(settings, services).test_client())
    enrolled_applicant(phone)
    services.intake.accept(Inbound("telegram", "77", "9", text="hola"))  # a delivery still waiting for its turn
    services.close()
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "PTIBOT_DATA_DIR": str(tmp_path / "data"),
           "SECRET_KEY": "x" * 32, "DATA_ENCRYPTION_KEYS": f"{new},{old}"}
    result = subprocess.run([sys.executable, "-m", "bot", "keys", "rotate"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "document_files: 6 re-encrypted" in result.stdout  # with the transfer receipt and our receipt
    only_new = build_services(make_settings(database_url, tmp_path / "data", data_encryption_keys=(new,)))
    with only_new.database.session_scope() as session:
        data = only_new.cipher.decrypt_json(session.execute(select(Conversation.data)).scalar_one())
        assert data["curp"] == "GODE561231HDFNZD03"
        for body in session.execute(select(Message.body)).scalars():
            only_new.cipher.decrypt_json(body)
        waiting = session.execute(select(QueuedInbound.body)).scalar_one()
        assert only_new.cipher.decrypt_json(waiting)["text"] == "hola"
        names = list(session.execute(select(Document.storage_name)).scalars())
    assert all(only_new.documents.load(name) for name in names)
    assert Cipher((old,)).encrypt(b"x")  # the old key still works as a key, it just is not needed any more
    only_new.close()


def test_retention_deletes_old_documents_and_abandoned_data(phone: Phone, services: Services, app: Flask) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    enrolled_applicant(phone)
    abandoned = Phone(app.test_client())
    abandoned.send("hola")
    abandoned.send("1")
    abandoned.send("acepto")
    with services.database.session_scope() as session:
        session.execute(update(Case).values(status="enrolled"))
    job = RetentionJob(services.database, services.cipher, services.documents, document_days=90, abandoned_days=30,
                       clock=lambda: utcnow() + timedelta(days=31))
    job.run_once()
    with services.database.session_scope() as session:
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 6  # not yet
        states = sorted(session.execute(select(Conversation.state)).scalars())
    assert "" in states  # the abandoned enrollment was purged…
    assert len(states) == 2 and any(s for s in states)  # …the filed one was not
    RetentionJob(services.database, services.cipher, services.documents, clock=lambda: utcnow() + timedelta(days=91)
                 ).run_once()
    with services.database.session_scope() as session:
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Case)).scalar_one() == 1
    assert not [p for p in Path(services.settings.data_dir, "documents").rglob("*") if p.is_file()]
