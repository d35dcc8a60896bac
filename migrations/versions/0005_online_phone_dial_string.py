"""groups.online_phone holds a whole one-tap dial string (up to 200 characters)

Meeting Guide feeds give `+15873281099,,8076462994#,,#,,1234#` (number, pauses, meeting ID,
passcode); 60 characters cut real ones short.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.alter_column(
            "online_phone", type_=sa.String(length=200), existing_type=sa.String(length=60)
        )


def downgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.alter_column(
            "online_phone", type_=sa.String(length=60), existing_type=sa.String(length=200)
        )
