"""Refresh the Babel catalogs: extract msgids, merge into es_MX and en, fill en, compile every .mo.

Run `make catalogs` after changing any user-facing text, then translate the new es_MX entries.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def fill_english(path: Path) -> None:
    """English is the source language: its translation is the msgid itself."""
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    for message in catalog:
        if message.id:
            message.string = message.id
            message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False)


def main() -> None:
    pot = LOCALES / "messages.pot"
    pybabel("extract", "-F", "babel.cfg", "-k", "N_", "--no-location", "--sort-output", "-w", "100",
            "--project", "ptibot", "-o", str(pot), "bot", "flows")
    for locale in ("es_MX", "en"):
        po = LOCALES / locale / "LC_MESSAGES" / "messages.po"
        if po.exists():
            pybabel("update", "-i", str(pot), "-d", str(LOCALES), "-l", locale, "-w", "100",
                    "--no-fuzzy-matching", "--ignore-obsolete")
        else:
            pybabel("init", "-i", str(pot), "-d", str(LOCALES), "-l", locale, "-w", "100")
    fill_english(LOCALES / "en" / "LC_MESSAGES" / "messages.po")
    pybabel("compile", "-d", str(LOCALES), "--use-fuzzy" if "--fuzzy" in sys.argv else "--statistics")


if __name__ == "__main__":
    main()
