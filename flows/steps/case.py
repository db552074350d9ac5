"""The summary, corrections, filing, and the case status.

The applicant sees everything collected in one message, numbered; any item can be corrected by itself
and the conversation comes straight back to the summary. Confirming leads to the contract and its payment
(flows/steps/contract.py); once the payment is confirmed the case is filed: it gets a folio like
PTI-2026-000123 and status "received", and the applicant learns what happens next. "estado" shows the
status and what is still missing from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.model import Choice, Context, Data, Route, Step
from flows.rules.case_status import STATUSES
from flows.rules.document_slots import LABELS, SLOTS, has_case, missing_required
from flows.rules.records import ITEMS, display
from flows.steps.contract import AWAITING_PAYMENT, OFFER_PENDING
from flows.steps.documents import FIRST_MISSING
from locales import N_, translate


def awaits_documents(data: Data) -> bool:
    """A filed case still waiting on documents from the applicant (missing, or asked for again by staff)."""
    return has_case(data) and bool(missing_required(data) or data.get("requested_documents"))


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


# What people call each item when they say what to correct: "el correo", "mi dirección", "me equivoqué en el CURP".
EDIT_WORDS: dict[str, tuple[str, ...]] = {
    "full_name": ("nombre", "mi nombre", "name"), "curp": ("curp",), "rfc": ("rfc",),
    "nss": ("nss", "seguro social", "numero de seguro social"),
    "email": ("correo", "email", "mail", "correo electronico", "e mail"),
    "phone": ("telefono", "celular", "cel", "numero de telefono", "phone"),
    "postal_code": ("codigo postal", "cp"), "address": ("direccion", "domicilio", "calle", "address"),
    "occupation": ("ocupacion", "oficio", "a que me dedico", "occupation"),
    "monthly_income": ("ingreso", "ingresos", "sueldo", "cuanto gano", "income"),
    "payment_frequency": ("frecuencia", "cada cuando pago", "frequency"),
    "beneficiaries": ("beneficiarios", "beneficiario", "beneficiaries"),
}
# How people name each document when they want to send it again.
DOCUMENT_WORDS = {
    "id_front": ("frente", "identificacion", "ine", "credencial", "pasaporte", "id"),
    "id_back": ("reverso", "parte de atras", "vuelta", "atras de la ine", "back"),
    "tax_certificate": ("constancia", "constancia de situacion fiscal", "csf", "situacion fiscal"),
    "proof_of_address": ("comprobante", "comprobante de domicilio", "recibo", "recibo de luz", "proof of address"),
    "curp_document": ("curp", "documento curp"),
}
EDIT_CHOICES = tuple(
    Choice(f"edit_{key}", label, step, EDIT_WORDS.get(key, ()), {"editing": True}) for label, key, step in ITEMS
) + (Choice("edit_documents", N_("Documents"), FIRST_MISSING[:-1] + (Route("edit_which_document"),), (
    "documentos", "comprobante", "comprobante de domicilio", "identificacion", "ine", "credencial", "constancia",
    "constancia de situacion fiscal", "foto", "fotos", "documents"), {"editing": True}),
     Choice("back", N_("Back to the summary"), "summary", ("volver", "regresar", "atras", "ya nada", "nada")))

STEPS = (
    Step("summary", (N_(
        "*Please check your data:*\n%(summary)s\n\n%(pending)s\nIs everything right?"),), (
        Choice("confirm", N_("Everything is right, send it"), "contract_offer",
               ("si", "correcto", "enviar", "confirmar", "esta correcto", "todo correcto", "todo bien", "esta bien",
                "todo esta bien", "todo ok", "perfecto", "mandalo", "envialo", "looks good", "all good"),
               {"editing": False}, explicit=True),
        Choice("edit", N_("Correct something"), "edit_menu", ("corregir", "cambiar", "no", "editar", "modificar",
                                                              "me equivoque", "equivoque", "hay un error", "esta mal",
                                                              "no esta correcto", "no es correcto", "incorrecto",
                                                              "change", "fix", "wrong", "not right", "dato mal",
                                                              "falta")),
    ), where=N_("the summary of your data"), values=summary_values),
    Step("edit_menu", (N_("What do you want to correct?"),), EDIT_CHOICES, where=N_("the summary of your data")),
    # Any document can be sent again from the summary, not only the first one.
    Step("edit_which_document", (N_("Which document do you want to send again?"),), tuple(
        Choice(f"doc_{slot}", label, step, DOCUMENT_WORDS.get(slot, ())) for slot, step, label, _ in SLOTS
    ) + (Choice("back", N_("Back to the summary"), "summary", ("volver", "regresar", "ninguno")),),
        where=N_("the summary of your data"), resumable=False),
    # Filing says nothing itself: storage creates the case, then the "case_filed" event shows the folio.
    Step("filing", (), where=N_("the summary of your data"), resumable=False),
    Step("case_filed", (N_(
        "Done! Your folio is *%(folio)s* and its status is: %(status)s.\n"
        "What happens next: an advisor reviews your data and documents and files your enrollment with IMSS; "
        "it usually takes %(days)s business days. %(pending)s\n"
        "Remember: IMSS contributions are paid by you directly to IMSS, with the línea de captura we will "
        "send you by email. Once IMSS enrolls you, its services start on the 1st of the following month. "
        "Write *estado* any time to check your case."),), (
        Choice("reminders", N_("Payment reminders"), "reminders_info", ("recordatorios", "membresia")),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=N_("your case"), values=case_values, resumable=False),
    Step("case_status", (), then=(Route("status_of_case", awaits_documents), Route("status_complete", has_case),
                                  AWAITING_PAYMENT, OFFER_PENDING, Route("status_without_case")),
         where=N_("your case status"), resumable=False),
    Step("status_of_case", (N_("Your case *%(folio)s* is: %(status)s.\n%(pending)s"),), (
        Choice("documents", N_("Send pending documents"), FIRST_MISSING, ("documentos", "enviar")),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=N_("your case status"), values=case_values, resumable=False),
    # Nothing pending from the applicant: no "Send pending documents" button (issue 14).
    Step("status_complete", (N_("Your case *%(folio)s* is: %(status)s.\n%(pending)s"),), (
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
