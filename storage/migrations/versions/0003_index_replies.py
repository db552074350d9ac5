"""index messages.in_reply_to (every turn reads its replies by it)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_in_reply_to", "messages", ["in_reply_to"])


def downgrade() -> None:
    op.drop_index("ix_messages_in_reply_to", table_name="messages")
