"""Pure IMSS and business rules: validators, estimates, eligibility, payments, statuses, legal texts."""
