"""The data an applicant gives us, as the summary, the data export and staff read it."""

from __future__ import annotations

from typing import Any

from locales import N_, translate

RELATIONSHIPS = {"spouse": N_("spouse or partner"), "child": N_("child"), "father": N_("father"),
                 "mother": N_("mother")}
FREQUENCIES = {"monthly": N_("Monthly"), "bimonthly": N_("Every 2 months"), "semiannual": N_("Every 6 months"),
               "annual": N_("Yearly")}

# What the summary shows, in order: (label msgid, data key, step that edits it).
ITEMS: tuple[tuple[str, str, str], ...] = (
    (N_("Name"), "full_name", "ask_full_name"),
    (N_("CURP"), "curp", "ask_curp"),
    (N_("RFC"), "rfc", "ask_rfc"),
    (N_("NSS"), "nss", "ask_nss"),
    (N_("Email"), "email", "ask_email"),
    (N_("Phone"), "phone", "ask_phone"),
    (N_("Postal code"), "postal_code", "ask_postal_code"),
    (N_("Address"), "address", "ask_address"),
    (N_("Occupation"), "occupation", "ask_occupation"),
    (N_("Monthly income"), "monthly_income", "ask_income"),
    (N_("Payment frequency"), "payment_frequency", "ask_frequency"),
    (N_("Beneficiaries"), "beneficiaries", "beneficiaries_editor"),  # replace or remove, not only add
)


def display(key: str, value: Any, locale: str) -> str:
    """How one collected value reads in the summary."""
    if value in (None, "", []):
        return translate(locale, N_("(none)"))
    if key == "monthly_income":
        from flows.rules.money import money

        return money(float(value), locale)
    if key == "payment_frequency":
        return translate(locale, FREQUENCIES.get(str(value), str(value)))
    if key == "beneficiaries":
        return "; ".join(f"{p['name']} ({translate(locale, RELATIONSHIPS.get(p['relationship'], ''))})"
                         for p in value)
    return str(value)
