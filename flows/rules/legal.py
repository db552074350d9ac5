"""The versioned legal texts: the service terms and the privacy notice (full and simplified).

The version string is what a consent record stores; change it whenever a text changes in substance,
so that applicants are asked to accept the new version.
"""

from __future__ import annotations

from dataclasses import dataclass

from locales import N_

BUSINESS_NAME = "Gestoría PTI"


@dataclass(frozen=True, slots=True)
class LegalText:
    kind: str
    version: str
    title: str
    paragraphs: tuple[str, ...]


TERMS = LegalText("terms", "2026-11-01", N_("Terms of the enrollment service"), (
    N_("*The service.* We file your IMSS enrollment as a self-employed worker (esquema de Personas "
       "Trabajadoras Independientes) remotely, with the information and documents you give us, to make the "
       "procedure easier and avoid mistakes."),
    N_("*Preliminary eligibility review.* During the process we check, as guidance only, whether you seem "
       "to meet IMSS's current requirements. That review is informative: it is not an official decision and "
       "does not guarantee that IMSS will accept your enrollment."),
    N_("*What is included.* Only the administrative filing of the enrollment and its correct submission. "
       "It does not include IMSS enrollment fees, contributions or payments, which you pay directly to IMSS; "
       "nor later procedures, legal representation or other procedures not expressly hired."),
    N_("*Approval.* Hiring the service does not guarantee acceptance: the final decision belongs only to "
       "IMSS and depends on you meeting every legal requirement."),
    N_("*Your information.* You are responsible for the truth and accuracy of the information and documents "
       "you give us. Errors, inconsistencies or omissions that stop the procedure are attributable to you."),
    N_("*Cancellation and refunds.* There are no total or partial refunds once the procedure has started, "
       "whatever the result, including when the procedure is stopped, rejected or cancelled because "
       "requirements are missing, the information is wrong, or contribution history or records needed for "
       "later procedures (such as a pension) are missing."),
    N_("*What you receive.* When the procedure is complete you receive by email your IMSS enrollment receipt "
       "and the payment slip (línea de captura) of your first contribution."),
))

# 2026-12-01.2: documents are read automatically to check them against the typed data (issue 21).
PRIVACY = LegalText("privacy", "2026-12-01.2", N_("Privacy notice"), (
    N_("*Who is responsible.* %(business)s is responsible for the personal data you give us through this "
       "chat."),
    N_("*Data we collect.* Identification and contact data (name, CURP, RFC, NSS, email, phone, address), "
       "occupation, photos of your official ID and proof of address, and your tax certificate. Sensitive "
       "data: health answers (only if you authorise them), and we protect the photos of your ID as sensitive "
       "too. Financial data: your monthly income (only with your express consent)."),
    N_("*Why.* Primary purposes, which need no extra consent: to prepare and file your IMSS enrollment and "
       "to keep you informed about it. Secondary purposes, which need your consent: payment reminders and "
       "news about our services."),
    N_("*Your rights.* You can access, correct or delete your data or object to its use (ARCO rights) at any "
       "time for free: write *mis datos* or *borrar mis datos* in this chat, or ask a person. We answer "
       "within 20 business days and carry out what you asked within 15 more."),
    N_("*Security.* Your documents and data are stored encrypted and only our staff can see them, with a "
       "record of every access. We do not sell your data or share it except with IMSS for your procedure."),
    N_("*Reading your documents.* Our system reads the text of the documents you send (on our own servers, "
       "without sending them to anyone else) to check them against the data you typed and warn you of a mistake "
       "in time. What it reads is stored encrypted, seen only by our staff, and deleted with the rest of your "
       "data."),
))

LEGAL_TEXTS = {text.kind: text for text in (TERMS, PRIVACY)}
