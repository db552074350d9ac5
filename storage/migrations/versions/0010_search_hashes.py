"""keyed hashes of CURP and phone beside the encrypted data, for staff search

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("curp_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch.create_index("ix_conversations_curp_hash", ["curp_hash"])
        batch.create_index("ix_conversations_phone_hash", ["phone_hash"])


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_phone_hash")
        batch.drop_index("ix_conversations_curp_hash")
        batch.drop_column("phone_hash")
        batch.drop_column("curp_hash")
