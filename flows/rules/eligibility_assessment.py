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
        blocking.append(N_("Public-administration workers covered by their own regime cannot use this scheme."))
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
    if data.get("elig_pregnancy") == "pregnant":
        notes.append(N_("Childbirth care has a 10-month waiting period from enrollment; general care is not "
                        "affected."))
    if data.get("elig_pregnancy") == "surgery":
        notes.append(N_("Some surgeries have waiting periods: 1 year for several listed ones (e.g. hernias, "
                        "varices, tonsils) and 2 years for orthopaedic surgery."))
    if data.get("elig_preexisting") == "yes":
        review.append(N_("IMSS applies a medical questionnaire and some pre-existing conditions can limit "
                         "coverage; an advisor will guide you. Declare them: not declaring them ends coverage "
                         "without refund."))
    if blocking:
        return Assessment("not_for_you", tuple(blocking), tuple(notes))
    if review:
        return Assessment("review", tuple(review), tuple(notes))
    return Assessment("likely", (), tuple(notes))
