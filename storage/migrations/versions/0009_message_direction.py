"""messages.direction holds "note" too (staff notes): four characters

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("direction", type_=sa.String(length=8), existing_type=sa.String(length=3),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("direction", type_=sa.String(length=3), existing_type=sa.String(length=8),
                           existing_nullable=False)
