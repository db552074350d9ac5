"""The payment-reminder membership: bought after enrollment or from the menu, one paid period at a time.

Coverage ends when a payment is missed, so the applicant may buy a membership: we remind them 5 days before the
day-20 deadline, the day before and on the day, never at night; we send their línea de captura and help them
get up to date. They see the plans with their prices (flows/data/prices.toml), pick one and how often they pay
IMSS, read what it includes and accept (recorded like the service contract), then pay it as the service fee
is paid: by SPEI with the receipt checked by staff, or by card or OXXO through Stripe Checkout. Only the
confirmed payment starts the membership (bot.service.payments); renewing adds a period to the end of the
current one. "ya pagué" with a photo or PDF of the receipt lets staff mark the IMSS period paid; "cancelar
membresía" ends the membership at once and the reminders stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flows.model import (
    AcceptContract,
    Choice,
    Context,
    Data,
    RecordConsent,
    Route,
    StartPayment,
    Step,
    Subscribe,
    Unsubscribe,
    Upload,
)
from flows.rules.legal import TERMS
from flows.rules.matching import LATER
from flows.rules.payments import long_date
from flows.rules.prices import MEMBERSHIP_PLANS, amount, price_for, quote_values
from flows.rules.records import FREQUENCIES
from flows.steps.contract import awaiting_transfer
from locales import N_, translate

CONSENT_VERSION = TERMS.version
PAYMENT = "membership_payment"  # the membership's payment, beside the service's "payment" in the data
PLAN_NAMES = {"membership_monthly": N_("Monthly plan"), "membership_yearly": N_("Yearly plan")}
PERIODS = {"membership_monthly": N_("one month"), "membership_yearly": N_("one year")}


def subscribed(data: Data) -> bool:
    return bool(data.get("reminders_active"))


def awaiting_membership_payment(data: Data) -> bool:
    """The membership is accepted and its payment not confirmed yet."""
    return (data.get(PAYMENT) or {}).get("status") == "pending"


def paying_membership_by_card(data: Data) -> bool:
    return (data.get(PAYMENT) or {}).get("method") == "stripe"


def awaiting_membership_transfer(data: Data) -> bool:
    return awaiting_membership_payment(data) and not paying_membership_by_card(data)


def frequency_values(context: Context) -> Mapping[str, Any]:
    key = str(context.data.get("reminder_frequency") or context.data.get("payment_frequency") or "monthly")
    return {"frequency": translate(context.locale, FREQUENCIES.get(key, FREQUENCIES["monthly"])).lower()}


def membership_values(context: Context) -> Mapping[str, Any]:
    """How the membership stands, in one line: paid until a day, or from before plans were sold."""
    membership = context.data.get("membership") or {}
    until = membership.get("until")
    line = translate(context.locale, N_("Your membership is active until %(until)s."),
                     until=long_date(date.fromisoformat(until), context.locale)) if until else translate(
        context.locale, N_("Your membership comes from before our plans existed and has no end date."))
    return {**frequency_values(context), "membership": line}


def plan_values(context: Context) -> Mapping[str, Any]:
    plan = str(context.data.get("membership_plan") or MEMBERSHIP_PLANS[0])
    return {**quote_values(context.today, context.locale),
            "plan": translate(context.locale, PLAN_NAMES.get(plan, PLAN_NAMES[MEMBERSHIP_PLANS[0]])),
            "price": amount(price_for(plan, context.today).total_centavos),
            "period": translate(context.locale, PERIODS.get(plan, PERIODS[MEMBERSHIP_PLANS[0]])),
            "terms_url": f"{context.base_url}/legal/terms?v={TERMS.version}"}


def payment_values(context: Context) -> Mapping[str, Any]:
    """What a transfer needs, stored in the data by the payment service when the payment was opened."""
    payment = context.data.get(PAYMENT) or {}
    return {"amount": amount(int(payment.get("amount_centavos") or 0)), "clabe": payment.get("clabe", ""),
            "beneficiary": payment.get("beneficiary", ""), "reference": payment.get("reference", ""),
            "note": payment.get("note") or "", "url": payment.get("url", "")}


def activated_values(context: Context) -> Mapping[str, Any]:
    return {**membership_values(context), **payment_values(context)}


def _chose(plan: str) -> Route:
    return Route(f"membership_terms_{plan}", lambda data: data.get("membership_plan") == plan)


MENU = Choice("menu", N_("Main menu"), "@menu", ("menu",))
WHERE = N_("payment reminders")
PAY_WHERE = N_("the payment of your membership")
PAY_LATER = Choice("later", N_("I will pay later"), "membership_later", ("despues", "luego", "mas tarde", "later"))
METHODS = (
    Choice("card", N_("Card or OXXO cash"), "membership_payment_starting", ("tarjeta", "oxxo", "efectivo", "card"),
           {}, (StartPayment("stripe", "membership"),)),
    Choice("spei", N_("Bank transfer (SPEI)"), "membership_payment_starting", ("transferencia", "spei", "transfer"),
           {}, (StartPayment("spei", "membership"),)),
    PAY_LATER,
)
RECEIPT = Upload("membership_receipt", "membership_receipt_received",  # RECEIPT_SLOTS, bot.service.payments
                 catches=awaiting_membership_transfer)
TO_TERMS = tuple(_chose(plan) for plan in MEMBERSHIP_PLANS)


def terms_step(plan: str) -> Step:
    """What the membership of `plan` includes and costs, and its acceptance (one step per plan: the contract
    effect names its plan)."""
    return Step(f"membership_terms_{plan}", (N_(
        "*Your membership: %(plan)s*\n"
        "• Includes: reminders before each IMSS deadline, your línea de captura when you ask, and help staying "
        "current. IMSS contributions are not included: you always pay them to IMSS.\n"
        "• Price: %(price)s MXN (IVA included) for %(period)s. Renewing adds it to the end of your period; "
        "nothing is charged automatically.\n"
        "• It starts when your payment is confirmed. Cancel any time with *cancelar membresía*: it ends at once.\n"
        "Terms: %(terms_url)s\n"
        "Do you accept?"),), (
        Choice("accept", N_("I accept"), "membership_payment_starting", ("acepto", "si", "si acepto", "ok"), {},
               (AcceptContract("membership", plan, TERMS.version), RecordConsent("reminders", CONSENT_VERSION, True)),
               explicit=True),
        Choice("plans", N_("See the plans"), "membership_plan", ("planes", "otro plan", "cambiar")),
        MENU,
    ), where=WHERE, values=plan_values, prompt=N_("Do you accept?"), resumable=False)


STEPS = (
    Step("reminders_info", (), then=(Route("reminders_active", subscribed),
                                     Route("membership_awaiting", awaiting_membership_payment),
                                     Route("reminders_offer")), where=WHERE, resumable=False),
    Step("reminders_offer", (N_(
        "*Payment reminders (optional membership)*\n"
        "Your IMSS coverage ends if a payment is missed. With the membership we remind you 5 days before the "
        "day-20 deadline, the day before and on the day, never at night, with the estimated amount; we send "
        "you your línea de captura and help you stay current.\n"
        "Plans (IVA included): %(monthly_amount)s MXN a month or %(yearly_amount)s MXN a year. You can cancel "
        "any time by writing *cancelar membresía*."),), (
        Choice("subscribe", N_("I want the membership"), "membership_plan",
               ("si", "si quiero", "suscribirme", "yes", "contratar", "me interesa", "lo quiero", "la quiero")),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        Choice("menu", N_("Main menu"), "@menu", ("menu", "no", *LATER)),
    ), where=WHERE, values=plan_values),
    Step("membership_plan", (N_(
        "Which plan do you want?\n• Monthly: %(monthly_amount)s MXN a month\n"
        "• Yearly: %(yearly_amount)s MXN a year\nPrices include IVA."),), (
        *(Choice(plan.removeprefix("membership_"), PLAN_NAMES[plan],
                 (Route(f"membership_terms_{plan}", subscribed), Route("membership_frequency")), synonyms,
                 {"membership_plan": plan})
          for plan, synonyms in (("membership_monthly", ("mensual", "mes", "monthly")),
                                 ("membership_yearly", ("anual", "año", "ano", "yearly")))),
        MENU,
    ), where=WHERE, values=plan_values, resumable=False),
    Step("membership_frequency", (N_("How often do you pay IMSS? We remind you before each of those deadlines."),),
         tuple(Choice(key, FREQUENCIES[key], TO_TERMS, synonyms, {"reminder_frequency": key})
               for key, synonyms in (("monthly", ("mensual", "cada mes")), ("bimonthly", ("bimestral",)),
                                     ("semiannual", ("semestral",)), ("annual", ("anual",)))),
         where=WHERE, resumable=False),
    *(terms_step(plan) for plan in MEMBERSHIP_PLANS),
    # Opening the payment says nothing itself: the payment service records the contract, then enters a step.
    Step("membership_payment_starting", (), where=PAY_WHERE, resumable=False),
    Step("membership_method", (N_("How do you want to pay *%(amount)s MXN* for your membership?"),), METHODS,
         where=PAY_WHERE, values=payment_values, resumable=False),
    Step("membership_card", (N_(
        "Pay *%(amount)s MXN* (IVA included) for your membership with a card or in cash at OXXO here:\n%(url)s\n"
        "As soon as the payment is confirmed your membership starts and I tell you here."),), (
        Choice("spei", N_("Bank transfer (SPEI)"), "membership_payment_starting", ("transferencia", "spei"), {},
               (StartPayment("spei", "membership"),)),
        PAY_LATER,
    ), where=PAY_WHERE, values=payment_values, resumable=False),
    Step("membership_spei", (N_(
        "*Pay your membership by bank transfer (SPEI)*\n"
        "Amount: *%(amount)s MXN* (IVA included)\n"
        "CLABE: %(clabe)s\n"
        "Beneficiary: %(beneficiary)s\n"
        "Reference: *%(reference)s* (write it in the concept of the transfer)\n"
        "When you have paid, send me here a photo or PDF of the transfer receipt."),), (PAY_LATER,),
        upload=RECEIPT, where=PAY_WHERE, values=payment_values,
        prompt=N_("Send me a photo or PDF of the transfer receipt (reference *%(reference)s*)."), resumable=False),
    Step("membership_retry", (N_(
        "Your membership payment did not go through or its link expired (reference *%(reference)s*). Choose how "
        "to pay to try again:"),), METHODS, where=PAY_WHERE, values=payment_values, resumable=False),
    Step("membership_later", (N_(
        "All right: your membership starts when you pay. Write *membresía* whenever you want to continue."),),
        then="main_menu", where=PAY_WHERE, resumable=False),
    Step("membership_receipt_received", (N_(
        "Thank you! An advisor checks your transfer and then your membership starts. I will tell you here."),),
        then="main_menu", where=PAY_WHERE, resumable=False),
    Step("membership_receipt_rejected", (N_(
        "We could not confirm your membership transfer: %(note)s\nPlease check it and send me the receipt "
        "again."),), (PAY_LATER,), upload=RECEIPT, where=PAY_WHERE, values=payment_values, resumable=False),
    Step("membership_awaiting", (N_(
        "Your membership waits for the payment of *%(amount)s MXN* (reference *%(reference)s*). It starts as "
        "soon as the payment is confirmed."),), (
        Choice("pay", N_("Pay or send the receipt"),
               (Route("membership_card", paying_membership_by_card), Route("membership_spei")),
               ("pagar", "recibo", "comprobante")),
        Choice("plans", N_("See the plans"), "membership_plan", ("planes", "otro plan", "cambiar")),
        MENU,
    ), where=PAY_WHERE, values=payment_values, resumable=False),
    Step("membership_activated", (N_(
        "Done! Your payment %(reference)s is confirmed. %(membership)s We remind you before each IMSS deadline "
        "(%(frequency)s). When you pay IMSS, write *ya pagué* and send the receipt."),), (MENU,), where=WHERE,
        values=activated_values, resumable=False),
    Step("reminders_active", (N_("Your payment reminders are on (%(frequency)s). %(membership)s"),), (
        Choice("paid", N_("I already paid"), "paid_proof", ("ya pague", "pague")),
        Choice("renew", N_("Renew"), "membership_plan", ("renovar", "renew", "pagar")),
        Choice("change", N_("Change frequency"), "reminders_frequency", ("cambiar", "frecuencia")),
        Choice("cancel", N_("Cancel the membership"), "reminders_cancel", ("cancelar",)),
        MENU,
    ), where=WHERE, values=membership_values, resumable=False),
    Step("reminders_frequency", (N_("How often do you pay IMSS?"),), tuple(
        Choice(key, FREQUENCIES[key], "reminders_changed", synonyms, {"reminder_frequency": key}, (Subscribe(),))
        for key, synonyms in (("monthly", ("mensual", "cada mes")), ("bimonthly", ("bimestral",)),
                              ("semiannual", ("semestral",)), ("annual", ("anual",))))
    , where=WHERE, resumable=False),
    Step("reminders_changed", (N_("Done! We now remind you of your %(frequency)s IMSS payments."),), (MENU,),
         where=WHERE, values=frequency_values, resumable=False),
    # "ya pagué" while a transfer of ours is awaited is about that transfer, not about IMSS.
    Step("paid_router", (), then=(Route("payment_spei", awaiting_transfer),
                                  Route("membership_spei", awaiting_membership_transfer),
                                  Route("paid_proof", subscribed), Route("reminders_offer")), where=WHERE,
         resumable=False),
    Step("paid_proof", (N_("Great! Send a photo or PDF of your payment receipt and an advisor will check it."),),
         (Choice("later", N_("Later"), "@menu", ("despues", "luego")),),
         upload=Upload("payment_proof", "paid_received"), where=WHERE, resumable=False),
    Step("paid_received", (N_(
        "Thank you! We received your receipt: we will not remind you of this period again, and an advisor "
        "will confirm the payment."),), then="main_menu", where=WHERE, resumable=False),
    Step("cancel_router", (), then=(Route("reminders_cancel", subscribed), Route("no_reminders")), where=WHERE,
         resumable=False),
    Step("no_reminders", (N_("You have no membership or payment reminders on."),), then="main_menu", where=WHERE,
         resumable=False),
    Step("reminders_cancel", (N_(
        "Do you want to cancel your membership? It ends right away and the payment reminders stop."),), (
        Choice("yes", N_("Yes, cancel it"), "reminders_cancelled", ("si", "yes", "cancelar", "cancelala"),
               {"reminders_active": False, "membership": {"status": "cancelled"}},
               (Unsubscribe(), RecordConsent("reminders", CONSENT_VERSION, False))),
        Choice("no", N_("No, keep my membership"), "@back", ("no", "mantener")),
    ), where=WHERE, resumable=False),
    Step("reminders_cancelled", (N_(
        "Done: your membership is cancelled and there will be no more payment reminders. You can buy it again "
        "from the menu."),), then="main_menu", where=WHERE, resumable=False),
)
