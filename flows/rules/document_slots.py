"""The documents a case needs, and which of them an applicant has still to send."""

from __future__ import annotations

from typing import Any

from flows.model import Data
from locales import N_

# slot, step, label (msgid), required
SLOTS: tuple[tuple[str, str, str, bool], ...] = (
    ("id_front", "doc_id_front", N_("official ID, front"), True),
    ("id_back", "doc_id_back", N_("official ID, back"), True),
    ("tax_certificate", "doc_tax_certificate", N_("tax certificate (constancia de situación fiscal)"), True),
    ("proof_of_address", "doc_proof_of_address", N_("proof of address (less than 3 months old)"), True),
    ("curp_document", "doc_curp", N_("CURP document (optional)"), False),
)
LABELS = {slot: label for slot, _, label, _ in SLOTS}


def has_case(data: Data) -> bool:
    return bool(data.get("case"))


def missing(slot: str) -> Any:
    return lambda data: slot not in (data.get("documents") or {})


def still_offered(slot: str) -> Any:
    """An optional document is offered during the journey, not again once the case is filed."""
    return lambda data: slot not in (data.get("documents") or {}) and not has_case(data)


def missing_required(data: Data) -> list[str]:
    held = data.get("documents") or {}
    return [slot for slot, _, _, required in SLOTS if required and slot not in held]
