"""The email that closes a case: the receipt and first payment slip, with what to do next, in her language."""

from __future__ import annotations

import html
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from locales import N_, translate

SUBJECT = N_("Your IMSS enrollment is done · folio %(folio)s")
GREETING = N_("Hello %(name)s,")
DONE = N_("Good news: your enrollment in IMSS as a self-employed worker is complete. Your folio is %(folio)s.")
ATTACHED = N_("Attached you will find your IMSS enrollment receipt and the payment slip (línea de captura) "
              "of your first contribution.")
PAY = N_("Pay the línea de captura no later than %(deadline)s, at the bank or by SPEI transfer.")
CLINIC = N_("Once you have paid, register at your family medicine clinic (UMF) so you can use IMSS services.")
# RACERF art. 77 (DOMAIN.md "Contributions"): services start on the 1st of the month after the inscription.
STARTS = N_("Your IMSS services start on the 1st of the month after your enrollment.")
FEES = N_("IMSS contributions are paid directly to IMSS; they are not part of our fee.")
CONTACT = N_("Any questions? Just reply in the chat where we talked and we will gladly help you.")
SIGNATURE = N_("The %(business)s team")
BODY = (GREETING, DONE, ATTACHED, PAY, CLINIC, STARTS, FEES, CONTACT, SIGNATURE)


def build_enrollment_email(*, to: str, mail_from: str, locale: str, name: str, folio: str, deadline: str,
                           business: str, attachments: list[tuple[str, bytes]]) -> EmailMessage:
    """The email that closes a case: receipt and first payment slip, with what to do next, in her language.

    Args:
        mail_from: MAIL_FROM; without a display name of its own, the business's name is shown as the sender.
        deadline: the day the first línea de captura must be paid, as the reader says it ("20 de diciembre de 2026").
        business: BUSINESS_NAME, who signs the email.
        attachments: `(filename, pdf_bytes)` pairs, usually the IMSS receipt and the payment slip.
    """
    values: dict[str, object] = {"name": name, "folio": folio, "deadline": deadline, "business": business}
    plain = "\n\n".join(translate(locale, msgid, **values) for msgid in BODY)
    # Escape the catalog text and the values separately, so the folio can be bold and nothing else is markup.
    marked = {"name": html.escape(name), "folio": f"<strong>{html.escape(folio)}</strong>",
              "deadline": f"<strong>{html.escape(deadline)}</strong>", "business": html.escape(business)}
    paragraphs = "\n".join(f"<p>{html.escape(translate(locale, msgid)) % marked}</p>" for msgid in BODY)
    lang = "es-MX" if locale.startswith("es") else "en"
    message = EmailMessage()
    message["Subject"] = translate(locale, SUBJECT, folio=folio)
    sender_name, sender = parseaddr(mail_from)
    message["From"] = Address(display_name=sender_name or business, addr_spec=sender)
    message["To"] = Address(display_name=name, addr_spec=to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=message_domain(mail_from))
    message.set_content(plain + "\n")
    message.add_alternative(f'<!doctype html>\n<html lang="{lang}"><body>\n{paragraphs}\n</body></html>\n',
                            subtype="html")
    for filename, data in attachments:
        message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return message


def message_domain(mail_from: str) -> str:
    """Message-IDs under our own domain: `make_msgid`'s default would look up (and leak) the host name."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "ptibot.invalid"
