"""schedules as they really are: every other week, cancelled days, temporarily closed

`meetings.interval` and `meetings.anchor` (a day it meets) for every-N-weeks rules; days with
no meeting per rule (`meetings.cancellations`) and per group (`groups.cancellations`); and
`groups.temporarily_closed` with `closed_until` (the day meetings start again) and a reason.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("interval", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("anchor", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("cancellations", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("groups") as batch:
        batch.add_column(
            sa.Column(
                "temporarily_closed", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("closed_until", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("closed_reason", sa.String(length=300), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("cancellations", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        for name in ("cancellations", "closed_reason", "closed_until", "temporarily_closed"):
            batch.drop_column(name)
    with op.batch_alter_table("meetings") as batch:
        for name in ("cancellations", "anchor", "interval"):
            batch.drop_column(name)
