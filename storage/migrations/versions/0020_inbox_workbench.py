"""inbox workbench: labels, read markers, data corrections, the slot of a rejected document

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "conversation_labels",
        sa.Column("id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "label", name="uq_conversation_labels"),
    )
    op.create_table(
        "staff_reads",
        sa.Column("id", ID, nullable=False),
        sa.Column("staff_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("last_message_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "conversation_id", name="uq_staff_reads"),
    )
    op.create_table(
        "data_corrections",
        sa.Column("id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=True),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("change", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("data_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_corrections_conversation_id"), ["conversation_id"], unique=False)
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("former_slot", sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("former_slot")
    with op.batch_alter_table("data_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_corrections_conversation_id"))
    op.drop_table("data_corrections")
    op.drop_table("staff_reads")
    op.drop_table("conversation_labels")
