"""The preliminary eligibility questionnaire: one question at a time, informative, never an IMSS decision.

The applicant answers with buttons: own income, public administration, a salaried job too, nationality
and legal stay, living abroad, first IMSS registration (Ley 73 or 97), age and pension; then, only with
an express consent for health data and always skippable, pre-existing conditions and a pregnancy or a
planned surgery. The result
is "probably qualifies", "needs an advisor's review" or "this scheme does not fit", with the reasons and
what fits instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.events import DialogEvent
from flows.model import Choice, Context, RecordConsent, Route, Step
from flows.rules.ages import AGE_BRACKETS
from flows.rules.eligibility_assessment import assess
from flows.rules.legal import TERMS
from flows.rules.matching import UNSURE
from flows.steps.menu import PENSION_ONLY_WORDS
from locales import N_, translate

HEALTH_CONSENT_VERSION = TERMS.version


def _lines(context: Context, msgids: tuple[str, ...]) -> str:
    return "\n".join(f"• {translate(context.locale, msgid)}" for msgid in msgids)


def result_values(context: Context) -> Mapping[str, Any]:
    result = assess(context.data)
    return {"reasons": _lines(context, result.reasons), "notes": _lines(context, result.notes)}


def outcome_is(outcome: str) -> Any:
    return lambda data: assess(data).outcome == outcome


TO_RESULT = (Route("elig_not_for_you", outcome_is("not_for_you")), Route("elig_review", outcome_is("review")),
             Route("elig_likely"))
YES = (N_("Yes"), ("si", "yes", "claro", "sip"))
NO = (N_("No"), ("no", "nop", "nel"))


# Naming a condition answers "do you have one?": "tengo diabetes", "sí, hipertensión" (the strict pass, before the
# health FAQ, which would otherwise answer and ask the same question again).
CONDITIONS = ("diabetes", "diabetica", "diabetico", "hipertension", "presion alta", "cancer", "asma", "epilepsia",
              "vih", "insuficiencia renal", "artritis", "enfermedad cronica", "lupus", "tiroides", "corazon",
              "hipotiroidismo", "padezco", "rinon", "renal", "colesterol", "depresion")


def yes_no(field: str, goto: str | tuple[Route, ...], yes: tuple[str, ...] = (),
           no: tuple[str, ...] = ()) -> tuple[Choice, Choice]:
    """A yes/no question; `yes` and `no`: what people say instead ("vendo ropa" is a yes to own income)."""
    return (Choice("yes", YES[0], goto, (*YES[1], *yes), {field: "yes"}),
            Choice("no", NO[0], goto, (*NO[1], *no), {field: "no"}))


# Nationalities and countries people name most often when they are not Mexican (one in a sentence is enough).
FOREIGN = ("venezolano", "venezolana", "venezuela", "colombiano", "colombiana", "colombia", "guatemalteco",
           "guatemalteca", "guatemala", "hondureno", "hondurena", "honduras", "salvadoreno", "salvadorena",
           "el salvador", "cubano", "cubana", "cuba", "haitiano", "haitiana", "haiti", "argentino", "argentina",
           "peruano", "peruana", "peru", "estadounidense", "gringo", "gringa", "espanol", "espanola", "espana",
           "nicaraguense", "nicaragua", "ecuatoriano", "ecuatoriana", "ecuador", "chileno", "chilena", "chile")
# Where Mexicans abroad most often live, as they name it (one in a sentence is enough; with "México" too, asked again).
ABROAD = ("eu", "eua", "eeuu", "united states", "the us", "the states", "texas", "california", "arizona", "illinois",
          "chicago", "los angeles", "houston", "dallas", "nueva york", "new york", "florida", "georgia", "nevada",
          "las vegas", "carolina", "colorado", "washington", "oregon", "canada", "espana", "gringolandia")
# Saying what they do answers the question (one such word in a sentence: flows/rules/matching.py).
OWN_ACTIVITY = ("por mi cuenta", "independiente", "mi negocio", "un negocio", "mi propio negocio", "puestito",
                "un puesto de", "vendo", "freelance", "freelancer", "chambitas",
                "honorarios", "comerciante", "emprendedor", "emprendedora", "self employed", "my own business")
GOVERNMENT = ("trabajo en el gobierno", "trabajo para el gobierno", "ayuntamiento", "presidencia municipal",
              "burocrata", "servidor publico", "servidora publica", "dependencia de gobierno", "government job")
PAYROLL = ("nomina", "trabajo en una empresa", "tengo patron", "asalariado", "asalariada", "payroll")


# "Solo quiero pensión": the pension-only alternatives, as information (the menu's topic, DOMAIN.md "pitfalls").
PENSION_ONLY = Choice("pension_only", N_("Only a pension? (Modalidad 40)"), "pension_only", PENSION_ONLY_WORDS)
WHERE = N_("the eligibility questions")
AGES = {key: (youngest, oldest) for key, youngest, oldest in AGE_BRACKETS}
STEPS = (
    Step("elig_intro", (N_(
        "First, a few quick questions for a preliminary review. It is informative only: the official decision "
        "is always IMSS's."
    ),), then="q_own_income", where=WHERE, resumable=False),
    Step("q_own_income", (N_("Do you earn income from your own activity (business, trade, fees, sales…)?"),), (
        *yes_no("elig_own_income", "q_public_admin", yes=OWN_ACTIVITY),
        Choice("unsure", N_("I am not sure"), "q_public_admin", UNSURE,
               {"elig_own_income": "unsure"}),
    ), where=WHERE),
    Step("q_public_admin", (N_(
        "Do you work for the federal, state or municipal public administration?"),),
        yes_no("elig_public_admin", "q_salaried", yes=GOVERNMENT), where=WHERE),
    Step("q_salaried", (N_("Do you also have a salaried job (on a payroll)?"),),
         yes_no("elig_salaried", "q_nationality", yes=PAYROLL, no=("solo por mi cuenta",)), where=WHERE),
    Step("q_nationality", (N_("Are you Mexican?"),), (
        Choice("mexican", N_("Yes, Mexican"), "q_abroad",
               ("si", "mexicano", "mexicana", "yes", "mexicano de nacimiento", "mexicana de nacimiento",
                "naci en mexico", "nacido en mexico", "nacida en mexico", "de aqui de mexico", "mexican"),
               {"elig_nationality": "mexican"}),
        Choice("foreign", N_("No, I am a foreigner"), "q_legal_stay", ("no", "extranjero", "extranjera", *FOREIGN),
               {"elig_nationality": "foreign"}),
    ), where=WHERE),
    Step("q_legal_stay", (N_("Do you have legal stay in Mexico and a CURP?"),), (
        Choice("yes", YES[0], "q_abroad", (*YES[1], "tengo residencia", "residente", "tarjeta de residente"),
               {"elig_legal_stay": "yes"}),
        Choice("in_process", N_("It is in process"), "q_abroad", ("en tramite", "tramite", "proceso", "tramitando",
                                                                  "migracion", "papeles"),
               {"elig_legal_stay": "in_process"}),
        Choice("no", NO[0], "q_abroad", NO[1], {"elig_legal_stay": "no"}),
    ), where=WHERE),
    Step("q_abroad", (N_("Do you live in Mexico right now?"),), (
        Choice("mexico", N_("Yes, in Mexico"), "q_first_registration", ("si", "mexico", "yes"), {"elig_abroad": "no"}),
        Choice("abroad", N_("No, I live abroad"), "q_first_registration",
               ("no", "extranjero", "fuera", "otro lado", "estados unidos", "usa", "gabacho", "abroad", *ABROAD),
               {"elig_abroad": "yes"}),
    ), where=WHERE),
    Step("q_first_registration", (N_("When were you first registered with IMSS?"),), (
        # "antes" alone is not a date: "ya estuve asegurado antes" says nothing of 1997. A year is (1997 itself
        # is on both sides of 1 July: asked again).
        Choice("before_1997", N_("Before 1 July 1997"), "q_age", ("antes de 1997", "antes del 97", "ley 73"),
               {"elig_first_registration": "before_1997"}, numbers=(1943, 1996)),
        Choice("after_1997", N_("From 1 July 1997 on"), "q_age", ("despues de 1997", "despues del 97", "ley 97"),
               {"elig_first_registration": "after_1997"}, numbers=(1998, 2030)),
        Choice("never", N_("Never registered"), "q_age",
               ("nunca", "es la primera vez", "nunca he cotizado", "nunca me registraron",
                "nunca he estado inscrito", "never", "first time", "nunca he tenido"),
               {"elig_first_registration": "never"}),
        Choice("unknown", N_("I do not know"), "q_age", UNSURE,
               {"elig_first_registration": "unknown"}),
    ), where=WHERE),
    Step("q_age", (N_("How old are you?"),), (
        Choice("under_18", N_("Under 18"), "q_pensioner", ("menor de edad", "soy menor", "menos de 18"),
               {"elig_age": "under_18"},
               numbers=AGES["under_18"]),
        Choice("18_59", N_("18 to 59"), "q_pensioner", ("18 a 59",), {"elig_age": "18_59"}, numbers=AGES["18_59"]),
        Choice("60_64", N_("60 to 64"), "q_pensioner", ("60 a 64",), {"elig_age": "60_64"}, numbers=AGES["60_64"]),
        Choice("65_plus", N_("65 or more"), "q_pensioner", ("65 o mas", "mas de 65"), {"elig_age": "65_plus"},
               numbers=AGES["65_plus"]),
    ), where=WHERE, ages=True),
    Step("q_pensioner", (N_("Do you receive a pension (from IMSS or another institution)?"),),
         yes_no("elig_pensioner", "health_consent", yes=("jubilado", "jubilada", "pensionado", "pensionada",
                                                         "retired")), where=WHERE),
    # RACERF arts. 81-87: how IMSS applies them to this scheme is not confirmed (DOMAIN.md), so "may apply"
    # and a person reviews the case; pre-existing conditions (art. 82) and exclusions (art. 84) are named too.
    Step("waiting_periods", (N_(
        "Good to know: waiting periods may apply from your enrollment date. Childbirth: 10 months. Several "
        "listed surgeries (e.g. hernias, varices, tonsils, gynaecological): 1 year. Orthopaedic surgery: 2 "
        "years. Some pre-existing conditions and some treatments are not covered. An advisor will review your "
        "case."
    ),), (Choice("continue", N_("Continue"), TO_RESULT, ("continuar", "seguir", "ok", "si", "entendido")),),
        where=WHERE, resumable=False),
    # Health data are sensitive (LFPDPPP art. 8): every health question, pregnancy included, comes after this
    # express consent, and skipping it skips them all.
    Step("health_consent", (N_(
        "The next two questions are about your health, which is sensitive data. Do you authorise us to use your "
        "answers only to review your enrollment? You can skip them."
    ),), (
        Choice("authorise", N_("I authorise it"), "q_preexisting", ("si", "autorizo", "acepto", "yes"),
               {"health_consent": True}, (RecordConsent("health", HEALTH_CONSENT_VERSION, True),), explicit=True),
        Choice("skip", N_("Skip these questions"), TO_RESULT, ("no", "saltar", "omitir", "skip", "prefiero no",
                                                                 "prefiero no contestar", "no autorizo", "paso",
                                                                 "saltate", "siguiente"),
               {"health_consent": False}, (RecordConsent("health", HEALTH_CONSENT_VERSION, False),)),
    ), where=WHERE),
    Step("q_preexisting", (N_(
        "Do you have a chronic or pre-existing condition (for example diabetes, cancer, kidney failure, heart "
        "disease or HIV)? IMSS asks this in its own medical questionnaire, and not declaring a condition can "
        "end coverage without refund."
    ),), (
        Choice("no", NO[0], "q_pregnancy", NO[1], {"elig_preexisting": "no"}),
        Choice("yes", YES[0], "q_pregnancy", (*YES[1], *CONDITIONS), {"elig_preexisting": "yes"}, intents=("health",)),
        Choice("skip", N_("I prefer not to say"), "q_pregnancy", ("prefiero no decir", "omitir", "saltar"),
               {"elig_preexisting": "skipped"}),
    ), where=WHERE),
    # Asked of everyone, neutrally: the questionnaire comes before the CURP, so sex is not known yet, and a
    # separate question on sex would be one more piece of personal data. "Neither" is one tap; it can be skipped.
    Step("q_pregnancy", (N_("Last one: do you have a pregnancy in progress or a surgery planned?"),), (
        Choice("none", N_("Neither"), TO_RESULT, ("no", "ninguno", "ninguna", "nada", "ni uno ni otro",
                                                  "ni embarazo ni cirugia", "ninguna de las dos"),
               {"elig_pregnancy": "none"}),
        Choice("pregnant", N_("A pregnancy"), "waiting_periods", ("embarazada", "embarazo", "estoy embarazada",
                                                                  "esperando bebe", "pregnant"),
               {"elig_pregnancy": "pregnant"}),
        Choice("surgery", N_("A planned surgery"), "waiting_periods", (
            "cirugia", "operacion", "cirugia programada", "operacion programada", "operar", "operarme", "surgery"),
               {"elig_pregnancy": "surgery"}),
        Choice("skip", N_("I prefer not to say"), TO_RESULT, ("prefiero no decir", "omitir", "saltar"),
               {"elig_pregnancy": "skipped"}),
    ), where=WHERE),
    Step("elig_likely", (N_(
        "*Preliminary result: you probably qualify* ✅\n%(notes)s\n\nThis is informative, not an IMSS decision."
    ),), (
        Choice("continue", N_("Continue"), "ask_full_name", ("continuar", "seguir", "si", "ok")),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        PENSION_ONLY,
    ), where=N_("your preliminary result"), values=result_values),
    Step("elig_review", (N_(
        "*Preliminary result: an advisor should review your case* 🔎\n%(reasons)s\n%(notes)s\n\nYou can go on "
        "with your data now; an advisor will check these points before filing. This is informative, not an "
        "IMSS decision."
    ),), (
        Choice("continue", N_("Continue"), "ask_full_name", ("continuar", "seguir", "si", "ok")),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        PENSION_ONLY,
    ), where=N_("your preliminary result"), values=result_values, event=DialogEvent.NEEDS_REVIEW),
    Step("elig_not_for_you", (N_(
        "*Preliminary result: this scheme does not seem to fit you*\n%(reasons)s\n\nIMSS has other options, such "
        "as Modalidad 40 (pension only, without medical care) or the Seguro de Salud para la Familia; an advisor "
        "can tell you about them. This is informative, not an IMSS decision: an advisor can look at your case."
    ),), (
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        PENSION_ONLY,
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=N_("your preliminary result"), values=result_values, resumable=False),
)
