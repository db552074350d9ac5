"""The receipt of a confirmed payment: a one-page PDF (business, concept, amount before IVA, IVA, total, date,
reference, folio) kept encrypted with the conversation's documents, sent in the chat and by email when the
applicant gave one. It is a receipt, not a CFDI: an invoice is issued by a person."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from zoneinfo import ZoneInfo

from fpdf import FPDF

from bot.core.messages import Attachment, Outbound
from bot.service.enrollment_email import message_domain
from flows.rules.payments import long_date
from flows.rules.prices import CONCEPTS, Price, PriceError, all_prices, amount, price_for
from locales import N_, translate
from storage.crypto import Cipher
from storage.db import Session
from storage.emails import queue_email
from storage.enrollment import DocumentRepository
from storage.files import DocumentStore
from storage.payments import ContractRecord, PaymentRecord

SLOT = "fee_receipt"
TITLE = N_("Payment receipt")
METHODS = {"spei": N_("SPEI bank transfer"), "stripe": N_("Card or OXXO (Stripe)")}
NOT_AN_INVOICE = N_("This receipt is not a tax invoice (CFDI). If you need one, ask us in the chat.")
CHAT_TEXT = N_("Here is the receipt of your payment of %(total)s MXN (reference %(reference)s).")
EMAIL_SUBJECT = N_("Your payment receipt · %(business)s")
EMAIL_BODY = N_("Hello %(name)s,\n\nThank you for your payment of %(total)s MXN (reference %(reference)s). Your "
                "receipt is attached.\n\nThe %(business)s team")


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a receipt shows, already decided: amounts in centavos, the date in the business time zone."""

    business: str
    concept: str
    method: str
    subtotal_centavos: int
    iva_centavos: int
    total_centavos: int
    paid_on: str
    reference: str
    folio: str | None


def render_receipt(receipt: Receipt, locale: str) -> bytes:
    """The receipt as a one-page PDF with the built-in Helvetica font (Latin-1 text)."""
    def latin(text: str) -> str:
        return text.encode("latin-1", "replace").decode("latin-1")

    pdf = FPDF(format="Letter")
    pdf.set_creator(latin(receipt.business))
    pdf.set_title(latin(translate(locale, TITLE)))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, latin(receipt.business), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 14)
    pdf.cell(0, 10, latin(translate(locale, TITLE)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    rows = [(N_("Concept"), receipt.concept), (N_("Payment method"), receipt.method),
            (N_("Date"), receipt.paid_on), (N_("Reference"), receipt.reference)]
    if receipt.folio:
        rows.append((N_("Case folio"), receipt.folio))
    rows += [(N_("Amount before IVA"), f"{amount(receipt.subtotal_centavos)} MXN"),
             (N_("IVA"), f"{amount(receipt.iva_centavos)} MXN"),
             (N_("Total paid"), f"{amount(receipt.total_centavos)} MXN")]
    pdf.set_font("Helvetica", "", 11)
    for label, value in rows:
        pdf.cell(60, 8, latin(translate(locale, label)))
        pdf.cell(0, 8, latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(0, 5, latin(translate(locale, NOT_AN_INVOICE)))
    return bytes(pdf.output())


def _accepted_price(contract: ContractRecord, zone: ZoneInfo) -> Price:
    """The IVA rate of the price the applicant accepted; a price period ended since then never blocks a receipt."""
    try:
        return price_for(contract.plan, contract.accepted_at.astimezone(zone).date())
    except PriceError:
        return max((price for price in all_prices() if price.key == contract.plan), key=lambda p: p.valid_from)


class PaymentReceipts:
    """Issues the receipt inside the transaction that applied the payment, so it exists exactly once."""

    def __init__(self, documents: DocumentStore, cipher: Cipher, zone: ZoneInfo, business: str,
                 mail_from: str | None) -> None:
        self.documents, self.cipher, self.zone = documents, cipher, zone
        self.business, self.mail_from = business, mail_from

    def issue(self, session: Session, conversation_id: int, locale: str, data: dict[str, object],
              payment: PaymentRecord, contract: ContractRecord, folio: str | None, now: datetime) -> Outbound:
        """Store the PDF, queue the email (when there is an address) and return the chat message to queue."""
        day = now.astimezone(self.zone).date()
        price = replace(_accepted_price(contract, self.zone), total_centavos=payment.amount_centavos)
        receipt = Receipt(self.business, translate(locale, CONCEPTS[contract.plan]),
                          translate(locale, METHODS.get(payment.method, payment.method)),
                          price.subtotal_centavos, price.iva_centavos, price.total_centavos,
                          long_date(day, locale), payment.reference, folio)
        pdf = render_receipt(receipt, locale)
        name = self.documents.save(pdf)
        DocumentRepository(session).add(conversation_id, name, "application/pdf", len(pdf),
                                        hashlib.sha256(pdf).hexdigest(), now, pages=1, slot=SLOT,
                                        case_id=contract.case_id, review_status="approved")
        filename = f"recibo-{payment.reference}.pdf"
        values = {"total": amount(payment.amount_centavos), "reference": payment.reference,
                  "business": self.business, "name": str(data.get("full_name") or "")}
        email = str(data.get("email") or "")
        if email:
            queue_email(session, self.cipher, contract.case_id,
                        self._email(email, locale, values, filename, pdf).as_bytes(), now)
        return Outbound(translate(locale, CHAT_TEXT, **values),
                        attachments=(Attachment("document", name, "application/pdf", filename, len(pdf)),),
                        kind="status_update")

    def _email(self, to: str, locale: str, values: dict[str, str], filename: str, pdf: bytes) -> EmailMessage:
        mail_from = self.mail_from or "ptibot@localhost"
        message = EmailMessage()
        message["Subject"] = translate(locale, EMAIL_SUBJECT, **values)
        sender_name, sender = parseaddr(mail_from)
        message["From"] = Address(display_name=sender_name or self.business, addr_spec=sender)
        message["To"] = Address(display_name=values["name"], addr_spec=to)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=message_domain(mail_from))
        message.set_content(translate(locale, EMAIL_BODY, **values) + "\n")
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
        return message
