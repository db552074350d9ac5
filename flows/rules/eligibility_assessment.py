"""The preliminary eligibility assessment: informative, never an IMSS decision (DOMAIN.md has the sources)."""

from __future__ import annotations

from dataclasses import dataclass

from flows.model import Data
from locales import N_


@dataclass(frozen=True, slots=True)
class Assessment:
    outcome: str  # "likely" | "review" | "not_for_you"
    reasons: tuple[str, ...]  # msgids: why review or why not
    notes: tuple[str, ...]  # msgids: things to know even when it fits


def assess(data: Data) -> Assessment:
    """The informative result from the answers; unconfirmed rules send the case to a person."""
    blocking: list[str] = []
    review: list[str] = []
    notes: list[str] = []
    if data.get("elig_own_income") == "no":
        blocking.append(N_("This scheme is for people who earn income from their own activity."))
    elif data.get("elig_own_income") == "unsure":
        review.append(N_("An advisor will confirm that your income counts as your own activity."))
    if data.get("elig_public_admin") == "yes":
        # LSS art. 13 fr. V is about public servants excluded from or not covered by other social-security
        # laws; a public servant with ISSSTE and separate self-employment income is not settled by the law we
        # hold, so a person reviews it instead of a rejection.
        review.append(N_("You work in the public administration: whether this scheme applies depends on your "
                         "social-security regime (Ley del Seguro Social art. 13 fr. V), so an advisor will review "
                         "your case."))
    if data.get("elig_salaried") == "yes":
        notes.append(N_("Having a salaried job too is fine: you pay this insurance separately."))
    if data.get("elig_nationality") == "foreign":
        stay = data.get("elig_legal_stay")
        if stay == "no":
            blocking.append(N_("Foreigners need legal stay in Mexico and a CURP to enroll."))
        elif stay == "in_process":
            review.append(N_("Your legal stay is in process: an advisor will check when you can enroll."))
    if data.get("elig_abroad") == "yes":
        notes.append(N_("Living abroad you can enroll if you have legal stay where you live."))
    notes.append({
        "before_1997": N_("You are probably in Ley 73 (first registered before 1 July 1997). Both Ley 73 and "
                          "Ley 97 members can enroll."),
        "after_1997": N_("You are probably in Ley 97 (first registered from 1 July 1997). You can enroll."),
        "never": N_("As a first-time registration you will be under Ley 97."),
    }.get(str(data.get("elig_first_registration")), N_(
        "If your first IMSS registration was before 1 July 1997 you are in Ley 73; if not, in Ley 97. Both "
        "can enroll.")))
    if data.get("elig_age") in ("under_18", "60_64", "65_plus"):
        review.append(N_("For your age an advisor will confirm the current rules."))
    if data.get("elig_pensioner") == "yes":
        review.append(N_("Because you receive a pension, an advisor will confirm the current rules."))
    # How IMSS applies the waiting periods of RACERF arts. 81-87 to this scheme is not confirmed: health
    # questions go to a person, and the texts say they "may apply".
    if data.get("elig_pregnancy") == "pregnant":
        review.append(N_("A 10-month waiting period for childbirth may apply from your enrollment, so the delivery "
                         "of a current pregnancy would fall inside it; an advisor will confirm it."))
        notes.append(N_("Maternity pay needs 30 weeks of contributions in the last 12 months."))
    if data.get("elig_pregnancy") == "surgery":
        review.append(N_("Some surgeries may have waiting periods (1 year for several listed ones such as hernias, "
                         "varices or tonsils; 2 years for orthopaedic surgery); an advisor will confirm it."))
    if data.get("elig_preexisting") == "yes":
        review.append(N_("IMSS applies a medical questionnaire and some pre-existing conditions can limit "
                         "coverage; an advisor will guide you. Declare them: not declaring them can end coverage "
                         "without refund."))
    if data.get("flag_nss_birth_year"):
        review.append(N_("The birth year in the NSS differs from the CURP's: an advisor will confirm the NSS."))
    if blocking:
        return Assessment("not_for_you", tuple(blocking), tuple(notes))
    if review:
        return Assessment("review", tuple(review), tuple(notes))
    return Assessment("likely", (), tuple(notes))
