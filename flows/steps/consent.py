"""Terms and privacy before any personal data: a short summary of each, a link to the full text, and
a recorded acceptance (version, time, message). Declining ends politely, offers a person, stores nothing
personal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.model import Choice, Context, RecordConsent, Step
from flows.rules.legal import BUSINESS_NAME, PRIVACY, TERMS
from locales import N_


def links(context: Context) -> Mapping[str, Any]:
    return {
        "terms_url": f"{context.base_url}/legal/terms?v={TERMS.version}",
        "privacy_url": f"{context.base_url}/legal/privacy?v={PRIVACY.version}",
        "business": BUSINESS_NAME,
    }


WHERE = N_("the terms of the service")
# Consent said plainly (the option is `explicit`: never guessed from a longer sentence).
ACCEPT_WORDS = ("acepto", "si", "si acepto", "de acuerdo", "ok", "acepto todo", "acepto los terminos",
                "acepto el aviso", "acepto las condiciones")
STEPS = (
    Step("enroll_start", (N_(
        "Great, let's start! First, the key points of our service:\n"
        "• We file your IMSS enrollment for you, remotely, with the data and documents you send.\n"
        "• IMSS contributions are not included: you pay them directly to IMSS.\n"
        "• The eligibility review is informative: only IMSS decides.\n"
        "• You are responsible for your data being true and correct.\n"
        "• No refunds once the procedure has started.\n"
        "Full terms: %(terms_url)s"
    ),), (
        Choice("accept", N_("I accept"), "privacy_notice", ACCEPT_WORDS,
               {"terms_version": TERMS.version}, (RecordConsent("terms", TERMS.version, True),), explicit=True),
        Choice("decline", N_("I do not accept"), "consent_declined", ("no acepto", "no", "rechazo"),
               {}, (RecordConsent("terms", TERMS.version, False),)),
    ), where=WHERE, values=links),
    Step("privacy_notice", (N_(
        "*Privacy notice (summary)*\n"
        "%(business)s uses your data (identification, contact, tax and social security numbers, address, "
        "income with your express consent, ID photos and, only if you allow it, health answers, which are "
        "sensitive data) to file your IMSS enrollment and keep you informed. Reminders and news need your "
        "separate consent. You can see, correct or delete your data, or object to its use, any time by writing "
        "*mis datos* or *borrar mis datos*.\n"
        "Full notice: %(privacy_url)s"
    ),), (
        Choice("accept", N_("I accept"), "elig_intro", ACCEPT_WORDS,
               {"privacy_version": PRIVACY.version}, (RecordConsent("privacy", PRIVACY.version, True),),
               explicit=True),
        Choice("decline", N_("I do not accept"), "consent_declined", ("no acepto", "no", "rechazo"),
               {}, (RecordConsent("privacy", PRIVACY.version, False),)),
    ), where=N_("the privacy notice"), values=links),
    Step("terms_update", (N_(
        "We updated our terms of service and privacy notice. Please read them and accept them to go on:\n"
        "Terms: %(terms_url)s\nPrivacy: %(privacy_url)s"),), (
        Choice("accept", N_("I accept"), "@back", ("acepto", "si", "de acuerdo", "ok"),
               {"terms_version": TERMS.version, "privacy_version": PRIVACY.version},
               (RecordConsent("terms", TERMS.version, True), RecordConsent("privacy", PRIVACY.version, True)),
               explicit=True),
        Choice("decline", N_("I do not accept"), "consent_declined", ("no acepto", "no", "rechazo"),
               {}, (RecordConsent("terms", TERMS.version, False),)),
    ), where=N_("the new terms of the service"), values=links, resumable=False),
    Step("consent_declined", (N_(
        "No problem. Without accepting we cannot file your enrollment, and I did not keep any personal data. "
        "If you have questions, a person from our team can help you."
    ),), (
        # Changing one's mind shows the terms again, to be accepted there with their own button.
        Choice("again", N_("See the terms again"), "enroll_start", ("acepto", "si acepto", "bueno si", "mejor si",
                                                                   "ya acepto", "cambie de opinion", "terminos")),
        Choice("human", N_("Talk to a person"), "@human", ("asesor",)),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=WHERE, resumable=False),
)
