"""The payment-reminder membership: offered after enrollment and from the menu.

Coverage ends when a payment is missed, so the applicant may subscribe (with its own consent) and pick
how often they pay IMSS. They then hear from us 5 days before the day-20 deadline, the day before and
on the day, never at night. "ya pagué" with a photo or PDF of the receipt lets staff mark the period
paid; "cancelar recordatorios" stops everything at any time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.model import Choice, Context, Data, RecordConsent, Route, Step, Subscribe, Unsubscribe, Upload
from flows.rules.legal import TERMS
from flows.rules.records import FREQUENCIES
from flows.steps.contract import awaiting_payment, paying_by_card
from locales import N_, translate

CONSENT_VERSION = TERMS.version


def awaiting_transfer(data: Data) -> bool:
    return awaiting_payment(data) and not paying_by_card(data)


def subscribed(data: Data) -> bool:
    return bool(data.get("reminders_active"))


def frequency_values(context: Context) -> Mapping[str, Any]:
    key = str(context.data.get("reminder_frequency") or context.data.get("payment_frequency") or "monthly")
    return {"frequency": translate(context.locale, FREQUENCIES.get(key, FREQUENCIES["monthly"])).lower()}


MENU = Choice("menu", N_("Main menu"), "@menu", ("menu",))
WHERE = N_("payment reminders")
STEPS = (
    Step("reminders_info", (), then=(Route("reminders_active", subscribed), Route("reminders_offer")),
         where=WHERE, resumable=False),
    Step("reminders_offer", (N_(
        "*Payment reminders (optional membership)*\n"
        "Your IMSS coverage ends if a payment is missed. We remind you 5 days before the day-20 deadline, the "
        "day before and on the day, never at night, with the estimated amount; we can also send you your "
        "línea de captura. It is an optional service with its own fee, which an advisor confirms with you. "
        "You can cancel any time by writing *cancelar recordatorios*."),), (
        Choice("subscribe", N_("I want reminders"), "reminders_frequency", ("si", "quiero", "suscribirme", "yes"),
               {}, (RecordConsent("reminders", CONSENT_VERSION, True),)),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        Choice("menu", N_("Main menu"), "@menu", ("menu", "no", "ahora no", "despues")),
    ), where=WHERE),
    Step("reminders_frequency", (N_("How often do you pay IMSS?"),), tuple(
        Choice(key, FREQUENCIES[key], "reminders_subscribed", synonyms,
               {"reminder_frequency": key, "reminders_active": True}, (Subscribe(),))
        for key, synonyms in (("monthly", ("mensual", "cada mes")), ("bimonthly", ("bimestral",)),
                              ("semiannual", ("semestral",)), ("annual", ("anual",))))
    , where=WHERE),
    Step("reminders_subscribed", (N_(
        "Done! Your reminders are on (%(frequency)s). When you pay, write *ya pagué* and send a photo of the "
        "receipt, so we stop reminding you of that period."),), (MENU,), where=WHERE, values=frequency_values,
        resumable=False),
    Step("reminders_active", (N_("Your payment reminders are on (%(frequency)s)."),), (
        Choice("paid", N_("I already paid"), "paid_proof", ("ya pague", "pague")),
        Choice("change", N_("Change frequency"), "reminders_frequency", ("cambiar", "frecuencia")),
        Choice("cancel", N_("Cancel reminders"), "reminders_cancel", ("cancelar",)),
        MENU,
    ), where=WHERE, values=frequency_values, resumable=False),
    # "ya pagué" while the service fee waits for a transfer is about that transfer, not about IMSS.
    Step("paid_router", (), then=(Route("payment_spei", awaiting_transfer), Route("paid_proof", subscribed),
                                  Route("reminders_offer")), where=WHERE,
         resumable=False),
    Step("paid_proof", (N_("Great! Send a photo or PDF of your payment receipt and an advisor will check it."),),
         (Choice("later", N_("Later"), "@menu", ("despues", "luego")),),
         upload=Upload("payment_proof", "paid_received"), where=WHERE, resumable=False),
    Step("paid_received", (N_(
        "Thank you! We received your receipt: we will not remind you of this period again, and an advisor "
        "will confirm the payment."),), then="main_menu", where=WHERE, resumable=False),
    Step("cancel_router", (), then=(Route("reminders_cancel", subscribed), Route("no_reminders")), where=WHERE,
         resumable=False),
    Step("no_reminders", (N_("You have no payment reminders on."),), then="main_menu", where=WHERE,
         resumable=False),
    Step("reminders_cancel", (N_("Do you want to stop your payment reminders?"),), (
        Choice("yes", N_("Yes, stop them"), "reminders_cancelled", ("si", "yes", "cancelar"),
               {"reminders_active": False}, (Unsubscribe(), RecordConsent("reminders", CONSENT_VERSION, False))),
        Choice("no", N_("No, keep them"), "@back", ("no",)),
    ), where=WHERE, resumable=False),
    Step("reminders_cancelled", (N_(
        "Done: no more payment reminders. You can turn them on again from the menu."),), then="main_menu",
        where=WHERE, resumable=False),
)
