"""manager view: manager role and agent-managed canned responses (no schema change)

The read-only `manager` role fits the existing `staff.role` column (String(10)); canned responses keep their
table, and who added, edited or deleted one is in the audit log. The dashboard reads only what is stored already.
The revision stays so that the chain 0020 → 0021 is the same everywhere.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    pass  # nothing to change: see the docstring


def downgrade() -> None:
    pass
