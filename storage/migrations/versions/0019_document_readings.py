"""document readings: text read from documents and its comparison with typed data

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "document_readings",
        sa.Column("id", ID, primary_key=True),
        sa.Column("document_id", ID, sa.ForeignKey("documents.id", ondelete="SET NULL"), nullable=True),
        sa.Column("conversation_id", ID, sa.ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True),
        sa.Column("slot", sa.String(30), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=True),
        sa.Column("method", sa.String(12), nullable=True),
        sa.Column("fields", sa.LargeBinary(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("asked", sa.Boolean(), nullable=False),
        sa.Column("milliseconds", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(12), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("document_id", name="uq_document_readings_document"),
    )
    op.create_index("ix_document_readings_conversation_id", "document_readings", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_document_readings_conversation_id", table_name="document_readings")
    op.drop_table("document_readings")
