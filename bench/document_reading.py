"""How well and how fast documents are read (issue 21): field-level accuracy and time per page on a labelled set of
synthetic documents (tests/document_samples.py: fake but valid identities; INE-like card photos and electricity
bills rendered with rotation, blur and sensor noise; a constancia and a CURP certificate as PDFs with a text layer).

For each identity every document is read as the worker reads it (`bot.service.document_reading.read_document`),
and each expected field is scored: right (the value read equals the printed one), wrong (another value) or missed.
Then the decision the applicant would see is scored: the same documents against the person's own typed data must
raise no question, and against another person's typed data (CURP, RFC and name of someone else) the documents that
carry them must raise one.

Run with the project's virtualenv: `.venv/bin/python bench/document_reading.py [--people 6]`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.service.document_reading import read_document, tesseract_available  # noqa: E402
from flows.rules.document_fields import compare, doubt, fold  # noqa: E402
from tests.document_samples import (  # noqa: E402
    constancia,
    curp_certificate,
    identity,
    ine_back,
    ine_front,
    proof_of_address,
    typed_data,
)

TODAY = date(2026, 12, 1)


def labelled(seed: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """(slot, content type, bytes, expected fields) for one made-up person."""
    person = identity(seed)
    rng = random.Random(seed)
    issued = date(2026, 11, rng.randint(1, 28))
    photo = {"rotate": rng.uniform(-3, 3), "blur": rng.uniform(0.3, 1.0), "noise": rng.uniform(2, 6)}
    name = person.upper_name
    return [
        ("id_front", "image/jpeg", ine_front(person, seed=seed, **photo),
         {"curp": person.curp, "full_name": name, "postal_code": person.postal_code}),
        ("id_back", "image/jpeg", ine_back(person, seed=seed, **photo),
         {"birth_date": person.birth.isoformat(), "full_name": name}),
        ("proof_of_address", "image/jpeg", proof_of_address(person, issued, seed=seed, **photo),
         {"postal_code": person.postal_code, "issue_date": issued.isoformat()}),
        ("tax_certificate", "application/pdf", constancia(person, issued),
         {"curp": person.curp, "rfc": person.rfc, "full_name": name, "postal_code": person.postal_code,
          "issue_date": issued.isoformat()}),
        ("curp_document", "application/pdf", curp_certificate(person), {"curp": person.curp, "full_name": name}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=6)
    args = parser.parse_args()
    if not tesseract_available():
        sys.exit("tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-spa)")
    scores: dict[tuple[str, str], list[str]] = defaultdict(list)
    times: dict[str, list[int]] = defaultdict(list)
    silent_ok = asked_ok = silent_total = asked_total = 0
    for seed in range(100, 100 + args.people):
        person, stranger = identity(seed), identity(seed + 1000)
        for slot, kind, content, expected in labelled(seed):
            read = read_document(content, kind, slot, TODAY)
            times[read.method].append(read.milliseconds // max(1, read.pages))
            for name, value in expected.items():
                got = read.fields.get(name)
                scores[(slot, name)].append("missed" if got is None else
                                            "right" if fold(got.value) == fold(value) else "wrong")
            silent_total += 1
            silent_ok += doubt(compare(slot, read.fields, typed_data(person), TODAY)) is None
            if {"curp", "rfc", "full_name"} & expected.keys():
                asked_total += 1
                other = typed_data(stranger)
                asked_ok += doubt(compare(slot, read.fields, other, TODAY)) is not None
    print(f"{args.people} people, {args.people * 5} documents; load average {os.getloadavg()[0]:.1f}")
    print(f"{'slot':<18}{'field':<13}{'right':>7}{'wrong':>7}{'missed':>8}")
    total = right = 0
    for (slot, name), results in sorted(scores.items()):
        total += len(results)
        right += results.count("right")
        print(f"{slot:<18}{name:<13}{results.count('right'):>7}{results.count('wrong'):>7}{results.count('missed'):>8}")
    print(f"fields right: {right}/{total} ({100 * right / total:.0f}%)")
    for method, values in sorted(times.items()):
        print(f"time per page, {method}: median {statistics.median(values)} ms, max {max(values)} ms "
              f"({len(values)} documents)")
    print(f"own data, no question: {silent_ok}/{silent_total}; another person's data, question: "
          f"{asked_ok}/{asked_total}")


if __name__ == "__main__":
    main()
