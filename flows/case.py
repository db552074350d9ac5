"""The summary, corrections, filing, and the case status.

The applicant sees everything collected in one message, numbered; any item can be corrected by itself
and the conversation comes straight back to the summary. Confirming files the case: it gets a folio like
PTI-2026-000123 and status "received", and the applicant learns what happens next. "estado" shows the
status and what is still missing from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.i18n import N_, translate
from flows.applicant import FREQUENCIES, RELATIONSHIPS
from flows.documents import FIRST_MISSING, LABELS, SLOTS, has_case, missing_required
from flows.model import Choice, Context, FileCase, Route, Step

# Case statuses in their order, with the label the applicant reads.
STATUSES: dict[str, str] = {
    "received": N_("received"),
    "in_review": N_("in review"),
    "documents_observed": N_("documents need attention"),
    "filed_with_imss": N_("filed with IMSS"),
    "enrolled": N_("enrolled"),
    "rejected": N_("rejected"),
    "cancelled": N_("cancelled"),
}
NEXT_STATUSES: dict[str, tuple[str, ...]] = {
    "received": ("in_review", "documents_observed", "cancelled"),
    "in_review": ("documents_observed", "filed_with_imss", "rejected", "cancelled"),
    "documents_observed": ("in_review", "cancelled"),
    "filed_with_imss": ("enrolled", "rejected", "documents_observed"),
    "enrolled": (),
    "rejected": (),
    "cancelled": (),
}

# What the summary shows, in order: (label msgid, data key, step that edits it).
ITEMS: tuple[tuple[str, str, str], ...] = (
    (N_("Name"), "full_name", "ask_full_name"),
    (N_("CURP"), "curp", "ask_curp"),
    (N_("RFC"), "rfc", "ask_rfc"),
    (N_("NSS"), "nss", "ask_nss"),
    (N_("Email"), "email", "ask_email"),
    (N_("Phone"), "phone", "ask_phone"),
    (N_("Postal code"), "postal_code", "ask_postal_code"),
    (N_("Address"), "address", "ask_address"),
    (N_("Occupation"), "occupation", "ask_occupation"),
    (N_("Monthly income"), "monthly_income", "ask_income"),
    (N_("Payment frequency"), "payment_frequency", "ask_frequency"),
    (N_("Beneficiaries"), "beneficiaries", "ask_beneficiary"),
)


def display(key: str, value: Any, locale: str) -> str:
    """How one collected value reads in the summary."""
    if value in (None, "", []):
        return translate(locale, N_("(none)"))
    if key == "monthly_income":
        from flows.money import money

        return money(float(value), locale)
    if key == "payment_frequency":
        return translate(locale, FREQUENCIES.get(str(value), str(value)))
    if key == "beneficiaries":
        return "; ".join(f"{p['name']} ({translate(locale, RELATIONSHIPS.get(p['relationship'], ''))})"
                         for p in value)
    return str(value)


def summary_values(context: Context) -> Mapping[str, Any]:
    data, locale = context.data, context.locale
    phone = data.get("phone") or data.get("channel_phone")
    lines = [f"{n}. {translate(locale, label)}: {display(key, phone if key == 'phone' else data.get(key), locale)}"
             for n, (label, key, _) in enumerate(ITEMS, 1)]
    held = data.get("documents") or {}
    received = [translate(locale, LABELS[slot]) for slot, *_ in SLOTS if slot in held]
    lines.append(f"{len(ITEMS) + 1}. {translate(locale, N_('Documents'))}: "
                 + (", ".join(received) or translate(locale, N_("(none)"))))
    return {"summary": "\n".join(lines), **pending_values(context)}


def pending_values(context: Context) -> Mapping[str, Any]:
    missing = [translate(context.locale, LABELS[slot]) for slot in missing_required(context.data)]
    if not missing:
        return {"pending": translate(context.locale, N_("Nothing is missing from you."))}
    return {"pending": translate(context.locale, N_("Still missing from you: %(documents)s."),
                                 documents=", ".join(missing))}


def case_values(context: Context) -> Mapping[str, Any]:
    case = context.data.get("case") or {}
    status = translate(context.locale, STATUSES.get(case.get("status", ""), N_("received")))
    return {"folio": case.get("folio", ""), "status": status, "days": context.review_days,
            **pending_values(context)}


EDIT_CHOICES = tuple(
    Choice(f"edit_{key}", label, step, (), {"editing": True}) for label, key, step in ITEMS
) + (Choice("edit_documents", N_("Documents"), FIRST_MISSING[:-1] + (Route("doc_id_front"),), (),
            {"editing": True}),
     Choice("back", N_("Back to the summary"), "summary", ("volver", "regresar", "atras")))

STEPS = (
    Step("summary", (N_(
        "*Please check your data:*\n%(summary)s\n\n%(pending)s\nIs everything right?"),), (
        Choice("confirm", N_("Everything is right, send it"), "filing", ("si", "correcto", "enviar", "confirmar"),
               {"editing": False}, (FileCase(),)),
        Choice("edit", N_("Correct something"), "edit_menu", ("corregir", "cambiar", "no", "editar")),
    ), where=N_("the summary of your data"), values=summary_values),
    Step("edit_menu", (N_("What do you want to correct?"),), EDIT_CHOICES, where=N_("the summary of your data")),
    # Filing says nothing itself: storage creates the case, then the "case_filed" event shows the folio.
    Step("filing", (), where=N_("the summary of your data"), resumable=False),
    Step("case_filed", (N_(
        "Done! Your folio is *%(folio)s* and its status is: %(status)s.\n"
        "What happens next: an advisor reviews your data and documents and files your enrollment with IMSS; "
        "it usually takes %(days)s business days. %(pending)s\n"
        "Remember: IMSS contributions are paid by you directly to IMSS, with the línea de captura we will "
        "send you by email. Write *estado* any time to check your case."),), (
        Choice("reminders", N_("Payment reminders"), "reminders_info", ("recordatorios", "membresia")),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=N_("your case"), values=case_values, resumable=False),
    Step("case_status", (), then=(Route("status_of_case", has_case), Route("status_without_case")),
         where=N_("your case status"), resumable=False),
    Step("status_of_case", (N_("Your case *%(folio)s* is: %(status)s.\n%(pending)s"),), (
        Choice("documents", N_("Send pending documents"), FIRST_MISSING, ("documentos", "enviar")),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=N_("your case status"), values=case_values, resumable=False),
    Step("status_without_case", (N_(
        "You have no enrollment filed yet. You can start or continue it now, or talk to a person."),), (
        Choice("enroll", N_("Start my enrollment"), "@resume:enrollment", ("inscribirme", "continuar")),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=N_("your case status"), resumable=False),
)
