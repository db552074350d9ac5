"""membership billing: plans bought and renewed through payments

Each subscription gets a status, its plan, the moment its paid period ends (`paid_until`) and the contract that
paid it last. Subscriptions from before memberships were sold stay active as "legacy" with no end (until staff
cancel them in the inbox); stopped ones become "cancelled".

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=12), server_default="legacy", nullable=False))
        batch_op.add_column(sa.Column("plan", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("paid_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("contract_id", ID, nullable=True))
        batch_op.create_foreign_key("fk_subscriptions_contract_id", "contracts", ["contract_id"], ["id"],
                                    ondelete="SET NULL")
    subscriptions = sa.table("subscriptions", sa.column("active", sa.Boolean()), sa.column("status", sa.String()))
    op.execute(subscriptions.update().where(subscriptions.c.active.is_(False)).values(status="cancelled"))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_subscriptions_contract_id", type_="foreignkey")
        batch_op.drop_column("contract_id")
        batch_op.drop_column("paid_until")
        batch_op.drop_column("plan")
        batch_op.drop_column("status")
