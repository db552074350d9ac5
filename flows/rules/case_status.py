"""The life of a case: its statuses in order, the label the applicant reads, and the moves staff may make."""

from __future__ import annotations

from locales import N_

# Case statuses in their order, with the label the applicant reads.
STATUSES: dict[str, str] = {
    "received": N_("received"),
    "in_review": N_("in review"),
    "documents_observed": N_("documents need attention"),
    "filed_with_imss": N_("filed with IMSS"),
    "enrolled": N_("enrolled"),
    "rejected": N_("rejected"),
    "cancelled": N_("cancelled"),
}
NEXT_STATUSES: dict[str, tuple[str, ...]] = {
    "received": ("in_review", "documents_observed", "cancelled"),
    "in_review": ("documents_observed", "filed_with_imss", "rejected", "cancelled"),
    "documents_observed": ("in_review", "cancelled"),
    "filed_with_imss": ("enrolled", "rejected", "documents_observed"),
    "enrolled": (),
    "rejected": (),
    "cancelled": (),
}
