"""Contracting and paying the service, between the confirmed summary and the filing.

Once the data is confirmed the applicant sees what they are buying: the filing of their IMSS enrollment,
what it excludes (IMSS contributions are never included; later procedures neither), that there is no
refund once the procedure has started (the moment we file with IMSS), and the price from
flows/data/prices.toml. Accepting records the contract (terms version, time, message) and opens its
payment; the bot then shows how to pay by SPEI transfer (CLABE, beneficiary, a unique reference) and waits
for the receipt, a photo or a PDF. Staff check the transfer in the inbox: only then is the case filed and
the applicant gets the folio. Until then "estado" says the enrollment waits for the payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.model import AcceptContract, Choice, Context, Data, Parsed, Question, Route, StartPayment, Step, Upload
from flows.rules.document_slots import has_case
from flows.rules.legal import TERMS
from flows.rules.matching import LATER
from flows.rules.prices import SERVICE, amount, quote_values
from flows.rules.validators import parse_invoice_rfc, parse_postal_code
from locales import N_, translate


def awaiting_payment(data: Data) -> bool:
    """The contract is accepted and its payment not confirmed yet (no case filed)."""
    return (data.get("payment") or {}).get("status") == "pending" and not has_case(data)


def paying_by_card(data: Data) -> bool:
    return (data.get("payment") or {}).get("method") == "stripe"


def awaiting_transfer(data: Data) -> bool:
    return awaiting_payment(data) and not paying_by_card(data)


RECEIPT = Upload("payment_receipt", "payment_receipt_received", catches=awaiting_transfer)


def offer_values(context: Context) -> Mapping[str, Any]:
    return {**quote_values(context.today, context.locale),
            "terms_url": f"{context.base_url}/legal/terms?v={TERMS.version}"}


def payment_values(context: Context) -> Mapping[str, Any]:
    """What a transfer needs, stored in the data by the turn service when the payment was opened."""
    payment = context.data.get("payment") or {}
    return {"amount": amount(int(payment.get("amount_centavos") or 0)), "clabe": payment.get("clabe", ""),
            "beneficiary": payment.get("beneficiary", ""), "reference": payment.get("reference", ""),
            "note": payment.get("note") or "", "url": payment.get("url", "")}


def invoice_values(context: Context) -> Mapping[str, Any]:
    data = context.data
    return {"rfc": data.get("invoice_rfc") or data.get("rfc") or "", "postal_code": data.get("invoice_postal_code", ""),
            "regime": next((translate(context.locale, title) for code, title in REGIMES
                            if code == data.get("invoice_regime")), "")}


def has_rfc(data: Data) -> bool:
    return bool(data.get("rfc"))


def parse_invoice_postal_code(text: str, data: Data) -> Parsed:
    """The postal code of the tax address (it may differ from where the applicant lives: no border zone)."""
    parsed = parse_postal_code(text, data)
    return Parsed(value=parsed.value, error=parsed.error, error_values=parsed.error_values)


WHERE = N_("the payment of the service")
# The CFDI data staff need (issuing the CFDI is done by a person): the RFC, the tax regime, the postal code.
INVOICE_WHERE = N_("your invoice data")
REGIMES = (("612", N_("612 Business and professional activities")), ("626", N_("626 RESICO")),
           ("605", N_("605 Wages and salaries")), ("616", N_("616 No tax obligations")))
INVOICE = Choice("invoice", N_("I need an invoice (CFDI)"), (Route("invoice_rfc", has_rfc), Route("invoice_ask_rfc")),
                 ("factura", "cfdi", "quiero factura", "invoice"), {"invoice_requested": True, "invoice_rfc": ""})
AFTER_INVOICE = (Route("status_awaiting_payment", awaiting_payment), Route("main_menu"))
PAY_LATER = Choice("later", N_("I will pay later"), "payment_later", ("despues", "luego", "mas tarde", "later"))
METHODS = (
    Choice("card", N_("Card or OXXO cash"), "payment_starting", ("tarjeta", "oxxo", "efectivo", "card"), {},
           (StartPayment("stripe"),)),
    Choice("spei", N_("Bank transfer (SPEI)"), "payment_starting", ("transferencia", "spei", "transfer"), {},
           (StartPayment("spei"),)),
    PAY_LATER,
)
STEPS = (
    Step("contract_offer", (N_(
        "*What you are hiring*\n"
        "• We file your IMSS enrollment as a self-employed worker and follow it until IMSS answers.\n"
        "• Not included: IMSS contributions, which you always pay directly to IMSS, nor later procedures.\n"
        "• No refunds, total or partial, once the procedure has started (when we file it with IMSS).\n"
        "• Price: %(service_fee)s.\n"
        "Full terms: %(terms_url)s\n"
        "Do you accept and want to pay?"),), (
        Choice("accept", N_("I accept"), "payment_starting", ("acepto", "si", "si acepto", "de acuerdo", "ok"),
               {}, (AcceptContract("service", SERVICE, TERMS.version),), explicit=True),
        Choice("summary", N_("Back to the summary"), "summary", ("volver", "regresar", "corregir", "cambiar algo")),
        # Thinking it over, or paying another day: nothing is lost, and "Start my enrollment" comes back here.
        Choice("later", N_("Not now, later"), "contract_later", (
            *LATER, "no", "manana", "no tengo dinero", "no tengo para pagar", "no me alcanza",
            "cuando me paguen", "en la quincena", "tomorrow")),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
    ), where=N_("what you are hiring"), values=offer_values, prompt=N_("Do you accept and want to pay?")),
    Step("contract_later", (N_(
        "No problem, take your time. Your data is saved. When you are ready, tap *Start my enrollment* in the "
        "menu and we go on from here."),), then="main_menu", where=N_("what you are hiring"), resumable=False),
    # Opening the payment says nothing itself: storage records the contract, then the payment step is entered.
    Step("payment_starting", (), where=WHERE, resumable=False),
    Step("payment_spei", (N_(
        "*Pay by bank transfer (SPEI)*\n"
        "Amount: *%(amount)s MXN* (IVA included)\n"
        "CLABE: %(clabe)s\n"
        "Beneficiary: %(beneficiary)s\n"
        "Reference: *%(reference)s* (write it in the concept of the transfer)\n"
        "When you have paid, send me here a photo or PDF of the transfer receipt."),), (PAY_LATER,),
        upload=RECEIPT, where=WHERE, values=payment_values,
        prompt=N_("Send me a photo or PDF of the transfer receipt (reference *%(reference)s*).")),
    Step("invoice_rfc", (N_("Sure. A person sends you the invoice (CFDI) of our fee; I only take your data. Is it "
                            "made out to your RFC *%(rfc)s*?"),), (
        Choice("yes", N_("Yes"), "invoice_regime", ("si", "correcto", "ok")),
        Choice("no", N_("No, to another RFC"), "invoice_ask_rfc", ("no", "otro")),
    ), where=INVOICE_WHERE, values=invoice_values, resumable=False),
    Step("invoice_ask_rfc", (N_("Which RFC is the invoice made out to (13 characters)?"),), (
        Choice("cancel", N_("No invoice after all"), AFTER_INVOICE, (
            "ya no", "cancelar", "sin factura", "ya no quiero factura", "no quiero factura", "no necesito factura",
            "no invoice"), {"invoice_requested": False}),
    ), question=Question("invoice_rfc", parse_invoice_rfc, "invoice_regime"), where=INVOICE_WHERE, resumable=False),
    Step("invoice_regime", (N_("What is your tax regime? It is on your Constancia de Situación Fiscal."),),
         tuple(Choice(f"regime_{code}", title, "invoice_postal_code", (code,), {"invoice_regime": code},
                      numbers=(int(code), int(code))) for code, title in REGIMES), where=INVOICE_WHERE,
         resumable=False),
    Step("invoice_postal_code", (N_("And the postal code of your tax address (5 digits)?"),),
         question=Question("invoice_postal_code", parse_invoice_postal_code, "invoice_done"), where=INVOICE_WHERE,
         resumable=False),
    Step("invoice_done", (N_("Thank you! I saved your invoice data: RFC %(rfc)s, regime %(regime)s, postal code "
                             "%(postal_code)s. A person sends you the CFDI once your payment is confirmed."),),
         then=AFTER_INVOICE, where=INVOICE_WHERE,
         values=invoice_values, resumable=False),
    # With Stripe configured, the turn service enters this step after the contract is accepted.
    Step("payment_method", (N_("How do you want to pay *%(amount)s MXN*?"),), METHODS, where=WHERE,
         values=payment_values),
    Step("payment_card", (N_(
        "Pay *%(amount)s MXN* (IVA included) with a card or in cash at OXXO here:\n%(url)s\n"
        "As soon as the payment is confirmed I will tell you here and we file your enrollment."),), (
        Choice("spei", N_("Bank transfer (SPEI)"), "payment_starting", ("transferencia", "spei", "deposito",
                                                                        "deposito en banco", "bank transfer"), {},
               (StartPayment("spei"),)),
        PAY_LATER,
    ), where=WHERE, values=payment_values),
    Step("payment_retry", (N_(
        "Your payment did not go through or its link expired (reference *%(reference)s*). Choose how to pay "
        "to try again:"),), METHODS, where=WHERE, values=payment_values, resumable=False),
    Step("payment_later", (N_(
        "All right: your data is saved and your enrollment waits for the payment. When you have paid, write "
        "*estado* and send me the receipt."),), then="main_menu", where=WHERE, resumable=False),
    Step("payment_receipt_received", (N_(
        "Thank you! An advisor checks your transfer and then we file your enrollment with IMSS. I will tell "
        "you here."),), then="main_menu", where=WHERE, resumable=False),
    Step("payment_receipt_rejected", (N_(
        "We could not confirm your transfer: %(note)s\nPlease check it and send me the receipt again."),),
        (PAY_LATER,), upload=RECEIPT, where=WHERE,
        values=payment_values, resumable=False),
    Step("status_awaiting_payment", (N_(
        "Your enrollment is ready and waits for the payment of *%(amount)s MXN* (reference *%(reference)s*). "
        "We file it with IMSS as soon as the payment is confirmed."),), (
        Choice("pay", N_("Pay or send the receipt"), (Route("payment_card", paying_by_card), Route("payment_spei")),
               ("pagar", "recibo", "comprobante")),
        INVOICE,
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=N_("your case status"), values=payment_values, resumable=False),
    Step("status_offer_pending", (N_(
        "Your data is ready: only accepting our service and paying is left. We file your enrollment with IMSS as "
        "soon as the payment is confirmed."),), (
        Choice("offer", N_("See the offer"), "contract_offer", ("continuar", "pagar", "aceptar", "acepto",
                                                                 "contratar", "ver la oferta")),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=N_("your case status"), resumable=False),
)

# "estado" while the payment is pending: the route the case status takes before "no case yet".
AWAITING_PAYMENT = Route("status_awaiting_payment", awaiting_payment)


def offer_pending(data: Data) -> bool:
    """The summary is confirmed and the offer was left for later: no contract, no payment, no case yet."""
    return (data.get("_at") or {}).get("enrollment") == "contract_offer" and not data.get("payment") \
        and not has_case(data)


# "estado" after "déjame pensarlo" at the offer: everything is ready but accepting and paying.
OFFER_PENDING = Route("status_offer_pending", offer_pending)
