"""public bodies: each group's public JSON, stored per version for fast search results

`public_bodies` holds, per group, the public JSON `serialize.group_body` makes, the group
version (`updated_at`) it was made from and the serializer's format number.  Search results
read a page of bodies in one query; a missing or stale body is made again on read, so the
table starts empty and needs no data migration.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_bodies",
        sa.Column("group_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("version", sa.DateTime(), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id"),
    )


def downgrade() -> None:
    op.drop_table("public_bodies")
