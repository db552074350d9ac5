"""The documents: official ID (both sides), tax certificate, proof of address and, optionally, the CURP.

Each is a photo or a PDF. A file that fails a check (blurry, too small, wrong type…) gets specific retake
advice and the same request again. "Later" is fine: the case then waits on that document, and "estado"
lists what is still missing. A document staff ask for again comes first when the applicant sends documents.
"""

from __future__ import annotations

from typing import Any

from flows.model import Choice, Route, Step, Upload
from flows.rules.document_slots import SLOTS, has_case, missing, still_offered
from locales import N_


def after(index: int) -> tuple[Route, ...]:
    """After a document (sent or left for later): the next missing one, then the summary or the case."""
    later = [Route(step, missing(slot) if required else still_offered(slot))
             for slot, step, _, required in SLOTS[index + 1:]]
    return (Route("summary", lambda data: bool(data.get("editing"))), *later, Route("case_status", has_case),
            Route("summary"))


def requested(slot: str) -> Any:
    """Staff asked for this document again (a rejected file, "documents observed"): it comes first."""
    return lambda data: slot in (data.get("requested_documents") or [])


FIRST_MISSING = (*(Route(step, requested(slot)) for slot, step, _, _ in SLOTS),
                 *(Route(step, missing(slot)) for slot, step, _, required in SLOTS if required),
                 Route("no_pending_documents"))


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
