"""The flows the bot runs, in one place so the engine, the CLI diagram and the tests agree."""

from __future__ import annotations

from flows.model import Flow
from flows.steps import applicant, case, consent, contract, data_rights, documents, eligibility, membership, menu

# The enrollment journey is one flow (one machine) assembled from the modules that tell each part.
ENROLLMENT = Flow("enrollment", "enroll_start",
                  consent.STEPS + eligibility.STEPS + applicant.STEPS + documents.STEPS + case.STEPS
                  + contract.STEPS)
MEMBERSHIP = Flow("membership", "reminders_info", membership.STEPS)
FLOWS: tuple[Flow, ...] = (menu.FLOW, ENROLLMENT, MEMBERSHIP, data_rights.FLOW)
