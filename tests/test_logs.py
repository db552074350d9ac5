"""No personal data in logs: a full journey at DEBUG, every log line scanned for the values used."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.core.logs import JsonFormatter, configure, mask
from bot.wiring import Services
from tests.helpers import Phone, WhatsAppUser, enrolled_applicant

VALUES = ("GODE561231HDFNZD03", "GODE561231GR8", "12345612340", "ana@example.mx", "5512345678", "+525512345678",
          "Eduardo González Díaz", "Av. Juárez 123")


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure(logging.DEBUG, stream=stream)
    for name in ("httpx", "httpcore", "telegram", "twilio", "urllib3", "werkzeug", "bot", "storage"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    root.handlers, level = saved
    root.setLevel(level)


def test_mask() -> None:
    line = ("curp GODE561231HDFNZD03 rfc GODE561231GR8 nss 12345612340 mail ana.l@example.mx "
            "tel +52 55 1234 5678 whatsapp:+5215512345678")
    masked = mask(line)
    for value in ("GODE561231HDFNZD03", "GODE561231GR8", "12345612340", "ana.l@example.mx", "55 1234 5678",
                  "5215512345678"):
        assert value not in masked


def test_a_full_journey_at_debug_logs_no_personal_value(log_stream: io.StringIO, phone: Phone,
                                                         services: Services, whatsapp_client: FlaskClient,
                                                         whatsapp_services: Services, twilio_api: Any) -> None:
    logging.getLogger("bot.test").debug("journey for %s with %s", "GODE561231HDFNZD03", "ana@example.mx")
    enrolled_applicant(phone)
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    for text in ("hola", "1", "acepto", "acepto", "si", "no", "no", "1", "1", "2", "2", "no", "2",
                 "continuar", "Eduardo González Díaz", "GODE561231HDFNZD03", "GODE561231GR8", "12345612340",
                 "ana@example.mx"):
        ana.say(text)
    output = log_stream.getvalue()
    assert output.count("\n") > 20, "the journey logged something"
    for value in VALUES:
        assert value not in output, value
    assert not re.search(r"5215512345678|525512345678", output)


def test_link_tokens_are_masked_in_access_lines_and_json(log_stream: io.StringIO, phone: Phone) -> None:
    """The export link is the key to someone's data: the access log keeps its route, never its token."""
    phone.send("hola")
    phone.send("1")
    phone.send("acepto")
    replies = phone.send("mis datos")
    token = next(r["text"] for r in replies if "/data-export/" in r["text"]).split("/data-export/")[-1].strip()
    assert len(token) > 20
    access = logging.getLogger("werkzeug")
    access.info('%s - - [%s] %s', "127.0.0.1", "01/Dec/2026 10:00:00",
                f'"GET /data-export/{token}?format=html HTTP/1.1" 200 -')
    access.info('"GET /media/%s HTTP/1.1" 200 -', token)
    output = log_stream.getvalue()
    assert token not in output
    assert "/data-export/[token]?format=html" in output and "/media/[token]" in output
    # A handler with only the JSON formatter (no masking filter) masks too.
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "GET /data-export/%s", (token,), None)
    assert token not in JsonFormatter().format(record)
