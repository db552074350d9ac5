"""partial index of the outbox without broadcast messages, so replies are claimed ahead of a broadcast

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PREDICATE = "status = 'queued' AND author <> 'system'"


def upgrade() -> None:
    op.create_index("ix_messages_conversational_outbox", "messages", ["next_attempt_at"],
                    postgresql_where=sa.text(PREDICATE), sqlite_where=sa.text(PREDICATE))


def downgrade() -> None:
    op.drop_index("ix_messages_conversational_outbox", table_name="messages")
