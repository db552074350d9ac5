"""media jobs: inbound files waiting to be downloaded by the worker

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "media_jobs",
        sa.Column("id", Id, nullable=False),
        sa.Column("message_id", Id, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("contact_ref", sa.String(length=128), nullable=False),
        sa.Column("ref", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(length=80), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_media_jobs_due", "media_jobs", ["status", "next_attempt_at"])
    op.create_index("ix_media_jobs_message_id", "media_jobs", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_media_jobs_message_id", table_name="media_jobs")
    op.drop_index("ix_media_jobs_due", table_name="media_jobs")
    op.drop_table("media_jobs")
