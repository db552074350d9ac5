"""inbound kinds: voice notes and audio files tied to the messages they came in

The audio bytes are documents (encrypted, with the same retention, erasure and key rotation); `message_audio`
says which message each came in and how long it plays. Locations and contact cards are kept in the message
body itself (encrypted JSON), so they need no table.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_audio",
        sa.Column("id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("document_id", ID, nullable=False),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_message_audio_message_id", "message_audio", ["message_id"])
    op.create_index("ix_message_audio_document_id", "message_audio", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_message_audio_document_id", table_name="message_audio")
    op.drop_index("ix_message_audio_message_id", table_name="message_audio")
    op.drop_table("message_audio")
