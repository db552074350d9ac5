"""Set es_MX translations from a JSON object {msgid: msgstr} on stdin, then recompile.

Handy when many new texts land at once: `python tools/translate.py < new.json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "locales" / "es_MX" / "LC_MESSAGES" / "messages.po"


def main() -> None:
    wanted = json.load(sys.stdin)
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="es_MX")
    unknown = [msgid for msgid in wanted if msgid not in catalog]
    for msgid, text in wanted.items():
        if msgid in catalog:
            message = catalog[msgid]
            message.string = text
            message.flags.discard("fuzzy")
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100, ignore_obsolete=True)
    with PO.with_suffix(".mo").open("wb") as handle:
        write_mo(handle, catalog)
    missing = [m.id for m in catalog if m.id and not m.string]
    print(f"set {len(wanted) - len(unknown)}; unknown {unknown}; still untranslated {len(missing)}")
    for msgid in missing:
        print("  -", json.dumps(msgid, ensure_ascii=False)[:100])


if __name__ == "__main__":
    main()
