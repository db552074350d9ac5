"""The applicant's data, one question at a time, with friendly corrections.

After the eligibility result the applicant types their full name, CURP, RFC, NSS (optional), email
(read back for confirmation), phone, postal code, whether they live in the northern border zone,
address, occupation, monthly income (only after an express consent for financial data) and how often
they will pay IMSS. They then see an itemised estimate and may register beneficiaries. When an answer is
changed from the summary, the conversation goes straight back to the summary; beneficiaries can then be
kept, added to, replaced or removed. "No la tengo a la mano" at the CURP or the RFC tells where to get it
and waits ("continuar", or the identifier typed later); at the NSS it says where to look it up and goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.model import Choice, Context, Data, Question, RecordConsent, Route, Step
from flows.rules.border_zone import border_status, needs_question
from flows.rules.estimate import border_unsure_note, estimate, render_estimate
from flows.rules.legal import TERMS
from flows.rules.matching import UNSURE
from flows.rules.records import FREQUENCIES, RELATIONSHIPS
from flows.rules.validators import (
    parse_address,
    parse_beneficiary,
    parse_curp,
    parse_email,
    parse_full_name,
    parse_income,
    parse_nss,
    parse_occupation,
    parse_phone,
    parse_postal_code,
    parse_rfc,
)
from locales import N_

FINANCIAL_CONSENT_VERSION = TERMS.version
def editing(data: Data) -> bool:
    return bool(data.get("editing"))


def then(step: str) -> tuple[Route, ...]:
    """Go on to `step`, unless the answer was a correction from the summary: then back to it."""
    return (Route("summary", editing), Route(step))


def has_phone_from_channel(data: Data) -> bool:
    return bool(data.get("channel_phone"))


def has_beneficiaries(data: Data) -> bool:
    return bool(data.get("beneficiaries"))


def nss_year_differs(data: Data) -> bool:
    return bool(data.get("flag_nss_birth_year"))


def nss_values(context: Context) -> Mapping[str, Any]:
    data = context.data
    return {"nss_year": str(data.get("nss") or "")[4:6], "curp_year": str(data.get("curp") or "")[4:6]}


def email_values(context: Context) -> Mapping[str, Any]:
    return {"email": context.data.get("email", "")}


def phone_values(context: Context) -> Mapping[str, Any]:
    return {"phone": context.data.get("channel_phone", "")}


def estimate_values(context: Context) -> Mapping[str, Any]:
    data = context.data
    result = estimate(float(data.get("monthly_income") or 0), context.today,
                      border=border_status(data) == "yes",
                      frequency=str(data.get("payment_frequency") or "monthly"))
    text = render_estimate(result, context.locale)
    if border_status(data) is None:  # "No sé" where the postal code cannot tell: not the same as "No"
        text += "\n\n" + border_unsure_note(result, context.locale)
    return {"estimate": text}


def beneficiary_values(context: Context) -> Mapping[str, Any]:
    from locales import translate

    people = context.data.get("beneficiaries") or []
    lines = [f"• {p['name']} ({translate(context.locale, RELATIONSHIPS.get(p['relationship'], ''))})"
             for p in people]
    return {"beneficiaries": "\n".join(lines)}


def ask(name: str, text: str, field: str, parser: Any, goto: str | tuple[Route, ...], where: str,
        choices: tuple[Choice, ...] = ()) -> Step:
    return Step(name, (text,), choices, Question(field, parser, goto), where=where)


AFTER_NSS = (Route("confirm_nss", nss_year_differs), *then("ask_email"))
# "No la tengo a la mano" (flows/rules/intents.py "missing", or the button): how to get it, then a pause. IMSS
# needs the CURP and the RFC to file (DOMAIN.md "What the applicant provides"), so the applicant comes back with
# them; the NSS is optional, so the journey goes on and the case is flagged for staff (nss_status "none").
WAIT_WORDS = ("continuar", "ya la tengo", "ya lo tengo", "listo", "ya", "continue")


def missing_choice(field: str, title: str) -> Choice:
    return Choice("missing", title, f"{field}_missing", (), {f"pending_{field}": True})


def waiting_for(field: str, text: str, prompt: str, parser: Any, goto: tuple[Route, ...], where: str) -> Step:
    """The pause after "I do not have it": where to get it, and the identifier itself is accepted here too."""
    return Step(f"{field}_missing", (text,), (
        Choice("continue", N_("Continue"), f"ask_{field}", WAIT_WORDS),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), Question(field, parser, goto), where=where, prompt=prompt)



AFTER_EMAIL = (Route("summary", editing), Route("confirm_phone", has_phone_from_channel), Route("ask_phone"))
STEPS = (
    ask("ask_full_name", N_("What is your full name, as it appears on your CURP? (given names and surnames)"),
        "full_name", parse_full_name, then("ask_curp"), N_("your name")),
    ask("ask_curp", N_("Please type your CURP (18 characters, e.g. GODE561231HDFMZD08). If your name has Ñ, "
                       "the CURP uses X."), "curp", parse_curp, then("ask_rfc"), N_("your CURP"),
        (missing_choice("curp", N_("I do not have my CURP at hand")),)),
    waiting_for("curp", N_(
        "No problem. You can get your CURP for free at gob.mx/curp: search it with your name and birth date and "
        "download it as a PDF. IMSS needs it to enroll you, so I'll wait: type it here, or write *continuar* "
        "when you have it. What you already sent is saved."),
        N_("I'll wait for you: type your CURP here, or write *continuar* when you have it."), parse_curp,
        then("ask_rfc"), N_("your CURP")),
    ask("ask_rfc", N_("Now your RFC with homoclave (13 characters, e.g. GODE561231GR8)."), "rfc", parse_rfc,
        then("ask_nss"), N_("your RFC"), (missing_choice("rfc", N_("I do not have my RFC at hand")),)),
    waiting_for("rfc", N_(
        "No problem. Your RFC with homoclave is on your Constancia de Situación Fiscal, which you can download at "
        "sat.gob.mx with your RFC and password (contraseña) or e.firma. If you are not registered yet, sign up "
        "at sat.gob.mx (Inscripción al RFC con CURP): you need your CURP, an email and your address. IMSS needs "
        "your RFC, so I'll wait: type it here, or write *continuar* when you have it."),
        N_("I'll wait for you: type your RFC here, or write *continuar* when you have it."), parse_rfc,
        then("ask_nss"), N_("your RFC")),
    ask("ask_nss", N_("What is your NSS (IMSS social security number, 11 digits)? If you do not have one, "
                      "tap the button."), "nss", parse_nss, AFTER_NSS,
        N_("your NSS"), (Choice("none", N_("I do not have one"), "nss_missing", ("no lo tengo", "no tengo"),
                                {"nss": None, "nss_status": "none", "flag_nss_birth_year": False}),)),
    Step("nss_missing", (N_(
        "No problem, the NSS is optional: our team will look it up or IMSS assigns one when you enroll. If you "
        "want to find it yourself, it is at imss.gob.mx (Asignación o localización de NSS) with your CURP."),),
        then=then("ask_email"), where=N_("your NSS"), resumable=False),
    # A plausibility doubt, not an error (DOMAIN.md "Identifiers"): the applicant may keep the NSS as it is
    # written on their IMSS document; the case is then flagged for staff (flag_nss_birth_year).
    Step("confirm_nss", (N_(
        "Digits 5 and 6 of an NSS are usually the birth year, but yours say *%(nss_year)s* and your CURP says "
        "*%(curp_year)s*. If that is how your NSS is written on your IMSS documents, keep it and our team will "
        "confirm it. Is it right?"),), (
        Choice("keep", N_("Yes, it is right"), then("ask_email"), ("si", "correcto", "es correcto", "yes", "ok")),
        Choice("change", N_("No, correct it"), "ask_nss", ("no", "corregir", "cambiar")),
    ), where=N_("your NSS"), values=nss_values),
    ask("ask_email", N_("What is your personal email? IMSS will send a confirmation there."), "email",
        parse_email, "confirm_email", N_("your email")),
    Step("confirm_email", (N_("Is this email right? %(email)s"),), (
        Choice("yes", N_("Yes, it is right"), AFTER_EMAIL, ("si", "correcto", "yes", "ok")),
        Choice("no", N_("No, change it"), "ask_email", ("no", "cambiar", "corregir", "esta mal", "incorrecto")),
    ), where=N_("your email"), values=email_values),
    Step("confirm_phone", (N_("Can we reach you at %(phone)s?"),), (
        Choice("yes", N_("Yes"), then("ask_postal_code"), ("si", "yes", "ok", "correcto"),
               {"phone_confirmed": True}),
        Choice("other", N_("Use another number"), "ask_phone", ("no", "otro", "otro numero")),
    ), where=N_("your phone"), values=phone_values),
    ask("ask_phone", N_("What is your phone number (10 digits)?"), "phone", parse_phone,
        then("ask_postal_code"), N_("your phone")),
    # The postal code decides the border zone when it can (flows/rules/border_zone.py); else we ask.
    ask("ask_postal_code", N_("What is your postal code (5 digits)?"), "postal_code", parse_postal_code,
        (Route("ask_border", needs_question), *then("ask_address")), N_("your postal code")),
    Step("ask_border", (N_(
        "Do you live in a northern border municipality (Zona Libre de la Frontera Norte, e.g. Tijuana, Mexicali, "
        "Ciudad Juárez, Nuevo Laredo, Reynosa, Matamoros)? Its minimum wage is higher."),), (
        Choice("no", N_("No"), then("ask_address"), ("no",), {"border_zone": "no"}),
        Choice("yes", N_("Yes"), then("ask_address"), ("si", "yes", "tijuana", "mexicali", "ciudad juarez", "juarez",
                                                       "nuevo laredo", "reynosa", "matamoros"), {"border_zone": "yes"}),
        Choice("unsure", N_("I do not know"), then("ask_address"), UNSURE, {"border_zone": "unsure"}),
    ), where=N_("your address")),
    ask("ask_address", N_("Your address: street, number, neighbourhood (colonia) and municipality."),
        "address", parse_address, then("ask_occupation"), N_("your address")),
    ask("ask_occupation", N_("What do you do for a living? (e.g. seamstress, web designer, shop owner)"),
        "occupation", parse_occupation, (Route("summary", editing), Route("income_consent")),
        N_("your occupation")),
    Step("income_consent", (N_(
        "Next I need your monthly income. It is financial data: do you give us your express consent to use "
        "it only for your enrollment and to estimate your contributions?"),), (
        Choice("accept", N_("I give my consent"), "ask_income", ("si", "acepto", "autorizo", "yes"),
               {"financial_consent": True}, (RecordConsent("financial", FINANCIAL_CONSENT_VERSION, True),),
               explicit=True),
        Choice("decline", N_("I do not"), "income_declined", ("no", "no acepto"),
               {"financial_consent": False}, (RecordConsent("financial", FINANCIAL_CONSENT_VERSION, False),)),
    ), where=N_("your income")),
    Step("income_declined", (N_(
        "I understand. IMSS needs your declared income to enroll you, so we cannot go on without it. You can "
        "change your mind or talk to a person."),), (
        Choice("accept", N_("I give my consent"), "income_consent", ("si", "acepto"), explicit=True),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=N_("your income")),
    ask("ask_income", N_("How much do you earn a month, roughly? (e.g. $12,500). It sets your contributions and "
                         "your cash benefits, so do not under-declare it."), "monthly_income", parse_income,
        (Route("show_estimate", editing), Route("ask_frequency")), N_("your income")),
    Step("ask_frequency", (N_("How often will you pay IMSS? (always in advance)"),), tuple(
        Choice(key, title, "show_estimate", synonyms, {"payment_frequency": key})
        for key, title, synonyms in (
            ("monthly", FREQUENCIES["monthly"], ("mensual", "cada mes", "al mes", "mensualmente", "every month")),
            ("bimonthly", FREQUENCIES["bimonthly"], ("bimestral", "cada dos meses", "cada 2 meses", "bimestre",
                                                     "bimestralmente", "every two months")),
            ("semiannual", FREQUENCIES["semiannual"], ("semestral", "cada seis meses", "cada 6 meses", "semestre",
                                                       "semestralmente", "every six months")),
            ("annual", FREQUENCIES["annual"], ("anual", "cada ano", "al ano", "una vez al ano", "anualmente",
                                               "every year", "once a year")),
        )
    ), where=N_("your payment frequency")),
    Step("show_estimate", (N_("%(estimate)s"),), (
        Choice("continue", N_("Continue"), then("ask_beneficiaries"), ("continuar", "seguir", "ok", "si")),
        Choice("change", N_("Change my income"), "ask_income", ("cambiar", "corregir")),
    ), where=N_("your estimate"), values=estimate_values),
    Step("ask_beneficiaries", (N_(
        "Do you want to register beneficiaries now? They can be your spouse or partner, children, father and "
        "mother, if they depend on you economically (IMSS checks the conditions)."),), (
        Choice("yes", N_("Yes, add one"), "ask_beneficiary", ("si", "yes", "agregar", "mis hijos", "mi hijo", "mi hija",
                                                               "mi esposa", "mi esposo", "mi pareja", "mis papas",
                                                               "mis padres", "mi mama", "mi papa")),
        Choice("no", N_("Not now"), then("doc_intro"), ("no", "despues", "ahora no", "nadie", "ninguno",
                                                         "no por ahora", "por ahora no", "luego", "no tengo familia",
                                                         "no tengo a nadie", "solo yo", "nomas yo")),
    ), where=N_("your beneficiaries")),
    Step("ask_beneficiary", (N_("Write their full name and relationship, e.g. María López, wife."),),
         question=Question("beneficiaries", parse_beneficiary, "more_beneficiaries", append=True),
         where=N_("your beneficiaries")),
    # From the summary: the people registered can be kept, added to, replaced or removed (issue 14).
    Step("beneficiaries_editor", (), then=(Route("edit_beneficiaries", has_beneficiaries), Route("ask_beneficiary")),
         where=N_("your beneficiaries"), resumable=False),
    Step("edit_beneficiaries", (N_("Registered:\n%(beneficiaries)s\nWhat do you want to do?"),), (
        Choice("add", N_("Add one"), "ask_beneficiary", ("agregar", "anadir", "otro")),
        Choice("replace", N_("Start the list again"), "ask_beneficiary", ("reemplazar", "cambiar", "de nuevo"),
               {"beneficiaries": []}),
        Choice("remove", N_("Remove them all"), "summary", ("quitar", "borrar", "eliminar", "ninguno"),
               {"beneficiaries": []}),
        Choice("keep", N_("Keep them"), "summary", ("dejar", "asi", "mantener", "listo")),
    ), where=N_("your beneficiaries"), values=beneficiary_values),
    # "Juan González López, hijo" typed here is the next one, added without a "yes" first.
    Step("more_beneficiaries", (N_("Registered:\n%(beneficiaries)s\nAdd another one?"),), (
        Choice("yes", N_("Yes, add one"), "ask_beneficiary", ("si", "yes", "otro")),
        Choice("no", N_("No, continue"), then("doc_intro"), ("no", "continuar", "listo")),
    ), Question("beneficiaries", parse_beneficiary, "more_beneficiaries", append=True),
        where=N_("your beneficiaries"), values=beneficiary_values),
)
