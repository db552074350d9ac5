"""index cases by conversation: every turn looks up its conversation's latest case

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""
from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_conversation_id", "cases", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_conversation_id", table_name="cases")
