"""Logging setup: one JSON object per line, with personal data (CURP, RFC, NSS, phone, email) and the
bearer tokens of links (data export, media) masked in every message, whoever logged it (our code, the
access log, Flask, python-telegram-bot, twilio, httpx)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import TextIO

PATTERNS = (
    # A link token is the key to someone's data: access-log lines keep the route, never the token.
    (re.compile(r"(/(?:data-export|media)/)[^\s/?#\"']+"), r"\1[token]"),
    (re.compile(r"\b[A-Z][AEIOUX][A-Z]{2}\d{6}[HM][A-Z]{5}[0-9A-Z]\d\b", re.IGNORECASE), "[CURP]"),
    (re.compile(r"\b[A-Z&Ñ]{3,4}\d{6}[A-Z0-9]{3}\b", re.IGNORECASE), "[RFC]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<![\w/])\+?\d[\d\s().-]{8,}\d(?!\w)"), "[number]"),  # phones, NSS and other long numbers
    (re.compile(r"(?<=whatsapp:)\+?\d+"), "[number]"),
)


def mask(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class MaskingFilter(logging.Filter):
    """Rewrites the final message so no handler ever sees the personal values."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": mask(record.getMessage())}
        if record.exc_text:
            entry["exception"] = mask(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: int = logging.INFO, *, json_lines: bool = True, stream: TextIO | None = None) -> None:
    """Install the masking filter and the formatter on the root logger (once per process)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.handlers = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "telegram", "alembic", "twilio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
