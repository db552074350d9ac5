"""The front door: a welcome, the main menu, and short answers a newcomer browses with buttons.

A person arrives ("hola"), is welcomed and sees the menu: start the enrollment, what the service
includes and does not, the benefits of enrolling (one topic at a time, and the pension-only alternatives
such as Modalidad 40, as information), the requirements, how IMSS
contributions work, their case status, payment reminders, or a person. Every topic ends with buttons
back to the menu or on to the enrollment, so nobody has to type anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.model import Choice, Context, Flow, Route, Step
from flows.rules.estimate import estimate, stale_warnings, validity_line
from flows.rules.imss import constants_for
from flows.rules.money import money
from locales import N_

# An applicant with a case sees its status; anyone else starts or continues where they left off.
ENROLL = Choice("enroll", N_("Start my enrollment"),
                (Route("case_status", lambda data: bool(data.get("case"))), Route("@resume:enrollment")),
                ("inscribirme", "quiero inscribirme", "inscripcion", "inscribir", "registrarme", "enroll"))
MENU = Choice("menu", N_("Main menu"), "@menu", ("menu", "inicio"))
HUMAN = Choice("human", N_("Talk to a person"), "@human", ("asesor", "persona", "agente"))
MORE_BENEFITS = Choice("more", N_("Other benefits"), "benefits", ("otro", "otros", "mas", "beneficios"))
# "Solo quiero pensión": typed words that lead to the pension-only topic (also offered on the eligibility result).
PENSION_ONLY_WORDS = ("modalidad 40", "mod 40", "modalidad cuarenta", "solo pension", "solo quiero pension",
                      "solo la pension", "pension sin servicio medico", "only a pension", "pension only",
                      "mi pension", "la pension", "nomas la pension")


def cost_values(context: Context) -> Mapping[str, Any]:
    """The contribution limits quoted in the costs topic, from the dated constants file."""
    constants = constants_for(context.today)
    locale = context.locale
    return {
        "minimum": money(constants.minimum_wage_daily, locale),
        "border": money(constants.minimum_wage_border_daily, locale),
        "maximum": money(constants.max_base_daily, locale),
        "uma": money(constants.uma_daily, locale),
        "example": money(estimate(constants.minimum_wage_daily * constants.days_per_month,
                                  context.today).monthly_total, locale),
        "day": constants.payment_day,
        "year": constants.entries["minimum_wage_daily"].valid_from.year,
        # Each value's own start date, and a warning for any value with no entry for today (issue 15).
        "validity": "\n".join([validity_line(constants, locale), *stale_warnings(
            constants, ("uma_daily", "minimum_wage_daily", "minimum_wage_border_daily", "rates"), locale)]),
    }


def _benefit(name: str, text: str) -> Step:
    return Step(name, (text,), (MORE_BENEFITS, ENROLL, MENU), where=N_("the benefits of enrolling"))


STEPS = (
    Step("welcome", (N_(
        "Hi! 👋 I am the assistant of the IMSS enrollment service for self-employed workers "
        "(Personas Trabajadoras Independientes). I can explain everything and help you file your "
        "enrollment from your phone."
    ),), then="main_menu"),
    Step("main_menu", (N_("How can I help you? Choose an option:"),), (
        ENROLL,
        Choice("service", N_("What the service includes"), "service_info",
               ("servicio", "que incluye", "incluye", "service")),
        Choice("benefits", N_("Benefits of enrolling"), "benefits", ("beneficios", "benefits")),
        Choice("requirements", N_("Requirements"), "requirements",
               ("requisitos", "documentos", "que necesito", "requirements")),
        Choice("costs", N_("How much IMSS costs"), "costs",
               # "precio", "cuánto cuesta" alone ask for our fee (the price FAQ); IMSS's cost is named as such.
               ("cuotas", "cuotas del imss", "cuanto cuesta el imss", "costo del imss", "costs", "imss costs")),
        Choice("status", N_("My case status"), "@status", ("estado", "mi caso")),
        Choice("reminders", N_("Payment reminders"), "reminders_info",
               ("recordatorios", "membresia", "reminders")),
        HUMAN,
    ), where=N_("the main menu")),
    Step("service_info", (N_(
        "*What we do*\n"
        "We file your IMSS enrollment as a self-employed worker for you, remotely, with the data and "
        "documents you send us, and we guide you through the process. When it is done you receive by "
        "email your IMSS enrollment receipt and the payment slip (línea de captura) of your first "
        "contribution.\n\n"
        "*What it does not include*\n"
        "• IMSS contributions: you pay them directly to IMSS.\n"
        "• Later procedures or legal representation.\n\n"
        "*Good to know*\n"
        "• Our eligibility review is informative: only IMSS decides.\n"
        "• You are responsible for your data being true and correct.\n"
        "• There are no refunds once the procedure has started, whatever the result."
    ),), (ENROLL, Choice("benefits", N_("Benefits of enrolling"), "benefits", ("beneficios",)), MENU),
        where=N_("what the service includes")),
    Step("benefits", (N_(
        "Enrolling covers you with IMSS's five insurances: illness and maternity, work risks, invalidity and "
        "life, retirement and old age, and daycare and social benefits. Which benefit do you want to know about?"
    ),), (
        Choice("medical", N_("Medical care"), "benefit_medical", ("medica", "salud", "doctor")),
        Choice("maternity", N_("Maternity"), "benefit_maternity", ("maternidad", "embarazo")),
        Choice("accidents", N_("Work accidents"), "benefit_accidents", ("accidentes", "riesgos")),
        Choice("invalidity", N_("Invalidity and life"), "benefit_invalidity", ("invalidez", "vida")),
        Choice("retirement", N_("Retirement and AFORE"), "benefit_retirement", ("retiro", "pension", "afore")),
        Choice("daycare", N_("Daycare and social services"), "benefit_daycare", ("guarderias", "guarderia")),
        Choice("infonavit", N_("Housing (INFONAVIT)"), "benefit_infonavit", ("infonavit", "vivienda")),
        Choice("pension_only", N_("Only a pension? (Modalidad 40)"), "pension_only", PENSION_ONLY_WORDS),
        MENU,
    ), where=N_("the benefits of enrolling")),
    # The family's conditions are LSS art. 84; sick pay arts. 96-97 (DOMAIN.md "Benefits and weeks").
    _benefit("benefit_medical", N_(
        "*Medical care* for you and your family: consultations, hospital, surgery and medicines. Family means "
        "your spouse or partner, children under 16 (up to 25 while studying) and your father and mother if "
        "they live with you, all only if they depend on you economically. Sick pay is for you only and needs "
        "4 weeks of contributions before the illness. Waiting periods may apply, and some pre-existing "
        "conditions and treatments are not covered."
    )),
    _benefit("benefit_maternity", N_(
        "*Maternity*: care during pregnancy and childbirth. A 10-month waiting period for childbirth may "
        "apply from your enrollment, so the delivery of a current pregnancy would fall inside it. Maternity "
        "pay is for the insured woman and needs 30 weeks of contributions in the last 12 months."
    )),
    _benefit("benefit_accidents", N_(
        "*Work accidents and illnesses*: the scheme includes the work-risk insurance (riesgos de trabajo) "
        "for accidents and illnesses caused by your activity. IMSS sets its benefits; an advisor can tell "
        "you more."
    )),
    _benefit("benefit_invalidity", N_(
        "*Invalidity and life*: if an illness or accident keeps you from working you may receive an "
        "invalidity pension (it needs 250 weeks of contributions). Pensions for your widow(er) and children "
        "need you to have at least 150 weeks of contributions recognised, or to be a pensioner."
    )),
    _benefit("benefit_retirement", N_(
        "*Retirement*: every payment adds weeks and savings to your AFORE account, which you choose. "
        "With enough weeks (under Ley 97 the number rises every year until 2031) you can retire from age 60 "
        "(cesantía) or 65 (vejez). "
        "You can estimate your pension at calculaturetiro.org. Only want a pension? See *Modalidad 40* in "
        "the benefits."
    )),
    _benefit("benefit_daycare", N_(
        "*Daycare and social benefits*: the scheme includes IMSS's daycare and social benefits insurance "
        "(guarderías y prestaciones sociales); IMSS sets where and how they apply."
    )),
    _benefit("benefit_infonavit", N_(
        "*Housing*: you may also make voluntary INFONAVIT contributions (5%) on your declared income. "
        "They are optional; INFONAVIT sets how you can use them for housing."
    )),
    # Modalidad 40 is only named as what it is (DOMAIN.md "pitfalls"): information, never advice.
    _benefit("pension_only", N_(
        "*Only a pension?* This scheme covers the five insurances, medical care included, and you pay for all "
        "of them. Modalidad 40 is a different IMSS option: pension only, without medical care. In this scheme "
        "you may also make voluntary INFONAVIT contributions (5%) on your declared income. We do not advise "
        "which option suits you: an advisor can explain the difference, and IMSS decides."
    )),
    Step("requirements", (N_(
        "*What to have at hand*\n"
        "• Your CURP\n• Your RFC\n• Your NSS (social security number), if you have one\n"
        "• A personal email\n• Your address with postal code\n• Your occupation and monthly income\n"
        "• Your AFORE registration (or you register right after enrolling)\n"
        "• Photos or PDFs of your official ID (both sides), your tax certificate (constancia de "
        "situación fiscal) and a proof of address less than 3 months old\n\n"
        "IMSS also applies a medical questionnaire to you and to each beneficiary. Both Ley 73 and Ley 97 "
        "members can enroll. Foreigners need legal stay in Mexico and a CURP."
    ),), (ENROLL, MENU), where=N_("the requirements")),
    Step("costs", (
        N_(
            "*How IMSS contributions work*\n"
            "• You choose the monthly income you declare; the daily base goes from one minimum wage "
            "(%(minimum)s, or %(border)s on the northern border) up to 25 UMA (%(maximum)s).\n"
            "• You pay both the employer and the worker shares, in advance: monthly, every two months, "
            "every six months or yearly.\n"
            "• Pay by day %(day)s of the month to be covered from the 1st of the next month.\n"
            "• INFONAVIT is optional: 5%% of your declared income."
        ),
        N_(
            "As a rough idea, declaring one minimum wage in %(year)s costs about %(example)s a month "
            "(without work-risk insurance or INFONAVIT). It is only an estimate: the official amount is "
            "the one on your línea de captura. IMSS contributions are not part of our fee."
        ),
        N_("%(validity)s"),  # which values were used, each from its own date, and any warning (issue 15)
    ), (ENROLL, HUMAN, MENU), where=N_("how much IMSS costs"), values=cost_values),
    Step("choose_language", (N_("Choose your language:"),), (
        Choice("es", "Español", "@back", ("espanol", "spanish", "es"), {"_locale": "es_MX"}),
        Choice("en", "English", "@back", ("ingles", "english", "en"), {"_locale": "en"}),
    ), where=N_("choosing your language")),
)

FLOW = Flow("menu", "welcome", STEPS)
