"""The documents: official ID (both sides), tax certificate, proof of address and, optionally, the CURP.

Each is a photo or a PDF. A file that fails a check (blurry, too small, wrong type…) gets specific retake
advice and the same request again. "Later" is fine: the case then waits on that document, and "estado"
lists what is still missing. A document staff ask for again comes first when the applicant sends documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flows.model import Choice, Context, Route, Step, Upload
from flows.rules.document_slots import SLOTS, has_case, missing, still_offered
from flows.rules.matching import LATER
from flows.rules.payments import long_date
from locales import N_, translate


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
                   (*LATER, "omitir", "saltar", "skip", "no la tengo", "no lo tengo", "no tengo"))
    return Step(name, (REQUESTS[slot],), (later,), upload=Upload(slot, after(index)),
                where=N_("your documents"))


# -- a document that disagrees with the typed data (read by the worker, bot.worker.document_reading) -----------
DOUBTS = {
    "curp": N_("Your %(document)s says the CURP is *%(found)s*, but you wrote *%(typed)s*."),
    "rfc": N_("Your %(document)s says the RFC is *%(found)s*, but you wrote *%(typed)s*."),
    "full_name": N_("Your %(document)s is in the name of *%(found)s*, but you wrote *%(typed)s*."),
    "issue_date": N_("Your proof of address is dated %(found)s: it is more than 3 months old."),
}
DOCUMENT_NAMES = {"id_front": N_("official ID"), "id_back": N_("official ID"), "tax_certificate": N_("tax certificate"),
                  "proof_of_address": N_("proof of address"), "curp_document": N_("CURP document")}
FIX_STEPS = (("curp", "ask_curp"), ("rfc", "ask_rfc"), ("full_name", "ask_full_name"))


def doubt_is(field: str) -> Any:
    return lambda data: (data.get("document_doubt") or {}).get("field") == field


def doubt_in(slot: str) -> Any:
    return lambda data: (data.get("document_doubt") or {}).get("slot") == slot


def doubt_values(context: Context) -> Mapping[str, Any]:
    doubt = context.data.get("document_doubt") or {}
    found = str(doubt.get("found", ""))
    if doubt.get("field") == "issue_date":
        try:
            found = long_date(date.fromisoformat(found), context.locale)
        except ValueError:
            pass
    document = translate(context.locale, DOCUMENT_NAMES.get(str(doubt.get("slot")), N_("document")))
    msgid = DOUBTS.get(str(doubt.get("field")), DOUBTS["full_name"])
    return {"doubt": translate(context.locale, msgid, document=document, found=found,
                               typed=str(doubt.get("typed", "")))}


STEPS = (
    Step("doc_intro", (N_(
        "Now your documents. Send each one as a clear photo (on a table, with good light, the whole document "
        "in the picture) or as a PDF."),), then=FIRST_MISSING[:-1] + (Route("summary"),), where=N_("your documents"),
        resumable=False),
    *(document_step(index) for index in range(len(SLOTS))),
    Step("no_pending_documents", (N_("You have no pending documents. Thank you!"),), then="main_menu",
         where=N_("your documents"), resumable=False),
    # The worker read a document and it clearly disagrees with what was typed (issue 21): one question.
    Step("doc_doubt", (N_("%(doubt)s\nWould you like to correct your data or send another document?"),), (
        Choice("fix_data", N_("Correct my data"), (*(Route(step, doubt_is(field)) for field, step in FIX_STEPS),
                                                  Route("summary")),
               ("corregir mis datos", "corregir", "corregir datos", "mis datos estan mal"), {"editing": True}),
        Choice("resend", N_("Send another document"), (*(Route(step, doubt_in(slot)) for slot, step, _, _ in SLOTS),
                                                       Route("doc_id_front")),
               ("enviar otro documento", "otro documento", "enviar otro", "reenviar", "mandar otro")),
    ), where=N_("your documents"), values=lambda context: doubt_values(context), resumable=False),
)
