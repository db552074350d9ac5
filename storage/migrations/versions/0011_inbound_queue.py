"""inbound queue: provider deliveries acknowledged before their turn runs

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_queue",
        sa.Column("id", Id, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=False),
        sa.Column("chat_key", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "provider_id", name="uq_inbound_queue_provider"),
    )
    op.create_index("ix_inbound_queue_chat", "inbound_queue", ["chat_key", "id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_queue_chat", table_name="inbound_queue")
    op.drop_table("inbound_queue")
