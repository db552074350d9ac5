"""Catalogs: every msgid in the code is translated in es_MX (and en), with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from locales import LOCALES_DIR, catalog, match_locale, translate

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")


def code_msgids() -> set[str]:
    """Every msgid in the code and the templates, extracted the way `make catalogs` does."""
    found: set[str] = set()
    for folder in ("bot", "flows"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
            keywords={"N_": None, "_": None},
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", ["es_MX", "en"])
def test_catalog_is_complete_and_consistent(locale: str) -> None:
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as handle:
        po = read_po(handle, locale=locale)
    problems = []
    for msgid in sorted(code_msgids()):
        message = po.get(msgid)
        if message is None or not message.string:
            problems.append(f"missing: {msgid[:60]!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid[:60]!r}")
        elif sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(str(message.string))):
            problems.append(f"placeholders differ: {msgid[:60]!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", ["es_MX", "en"])
def test_compiled_catalog_matches_its_source(locale: str) -> None:
    """A stale .mo would ship old texts: the compiled file must hold exactly the .po translations."""
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as handle:
        po = {m.id: m.string for m in read_po(handle) if m.id and m.string and not m.fuzzy}
    with (folder / "messages.mo").open("rb") as handle:
        mo = {m.id: m.string for m in read_mo(handle) if m.id}
    assert mo == po


def test_spanish_is_really_spanish() -> None:
    assert translate("es_MX", "Main menu") != "Main menu"
    assert type(catalog("es_MX")).__name__ == "GNUTranslations"


def test_locale_matching() -> None:
    assert match_locale("es-MX", "en") == "es_MX"
    assert match_locale("es", "en") == "es_MX"
    assert match_locale("en-US", "es_MX") == "en"
    assert match_locale("pt-BR", "es_MX") == "es_MX"
    assert match_locale(None, "en") == "en"
