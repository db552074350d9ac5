"""Translations: msgids are English; every user-facing text is rendered in the conversation's locale.

The Babel catalogs (messages.pot, es_MX, en) ship beside this module as package data, so a plain install
can translate. This is a bottom layer: it imports nothing of the project.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path
from typing import Any

SUPPORTED_LOCALES = ("es_MX", "en")  # the first is the fallback
LOCALES_DIR = Path(__file__).parent
DOMAIN = "messages"


def N_(msgid: str) -> str:
    """Mark a text for extraction without translating it yet (flows are data, rendered later)."""
    return msgid


@cache
def catalog(locale: str) -> gettext.NullTranslations:
    """Load a compiled catalog once; a missing `.mo` is an error, never a silent fallback to English."""
    if locale not in SUPPORTED_LOCALES:
        locale = SUPPORTED_LOCALES[0]
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def translate(locale: str, msgid: str, **values: Any) -> str:
    """Render `msgid` in `locale`, filling `%(name)s` placeholders."""
    text = catalog(locale).gettext(msgid)
    return text % values if values else text


def match_locale(hint: str | None, default: str) -> str:
    """Map a platform language code (`es-MX`, `en`, `pt-BR`) to a supported locale."""
    if hint:
        code = hint.lower().replace("-", "_")
        if code.startswith("es"):
            return "es_MX"
        if code.startswith("en"):
            return "en"
    return default
