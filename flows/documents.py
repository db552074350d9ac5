"""The documents: official ID (both sides), tax certificate, proof of address and, optionally, the CURP.

Each is a photo or a PDF. A file that fails a check (blurry, too small, wrong type…) gets specific retake
advice and the same request again. "Later" is fine: the case then waits on that document, and "estado"
lists what is still missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.i18n import N_, translate
from flows.model import Choice, Context, Data, Route, Step, Upload

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


def after(index: int) -> tuple[Route, ...]:
    """After a document (sent or left for later): the next missing one, then the summary or the case."""
    later = [Route(step, missing(slot) if required else still_offered(slot))
             for slot, step, _, required in SLOTS[index + 1:]]
    return (Route("summary", lambda data: bool(data.get("editing"))), *later, Route("case_status", has_case),
            Route("summary"))


FIRST_MISSING = (*(Route(step, missing(slot)) for slot, step, _, required in SLOTS if required),
                 Route("no_pending_documents"))


def missing_values(context: Context) -> Mapping[str, Any]:
    labels = [translate(context.locale, LABELS[slot]) for slot in missing_required(context.data)]
    return {"missing": ", ".join(labels)}


REQUESTS = {
    "id_front": N_("Send a photo or PDF of the *front* of your official ID (INE, passport or residence card)."),
    "id_back": N_("Now the *back* of your official ID."),
    "tax_certificate": N_("Now your *tax certificate* (constancia de situación fiscal), as a PDF or a photo."),
    "proof_of_address": N_("Now a *proof of address* less than 3 months old (electricity, water, phone bill…)."),
    "curp_document": N_("Last one, optional: your *CURP* document. You can skip it."),
}


def document_step(index: int) -> Step:
    slot, name, _, required = SLOTS[index]
    later = Choice("later", N_("Later") if required else N_("Skip"), after(index),
                   ("despues", "luego", "mas tarde", "omitir", "saltar", "skip", "later"))
    return Step(name, (REQUESTS[slot],), (later,), upload=Upload(slot, after(index)),
                where=N_("your documents"))


STEPS = (
    Step("doc_intro", (N_(
        "Now your documents. Send each one as a clear photo (on a table, with good light, the whole document "
        "in the picture) or as a PDF."),), then=FIRST_MISSING[:-1] + (Route("summary"),), where=N_("your documents"),
        resumable=False),
    *(document_step(index) for index in range(len(SLOTS))),
    Step("no_pending_documents", (N_("You have no pending documents. Thank you!"),), then="main_menu",
         where=N_("your documents"), resumable=False),
)
