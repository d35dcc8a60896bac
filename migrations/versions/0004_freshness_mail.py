"""groups confirm their own listing: outgoing mail queue, mail contacts, freshness requests

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_via", sa.String(length=40), nullable=True))
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outgoing_mail_to_address"), ["to_address"])
        batch_op.create_index(batch_op.f("ix_outgoing_mail_group_id"), ["group_id"])
        batch_op.create_index(batch_op.f("ix_outgoing_mail_state"), ["state"])
        batch_op.create_index(batch_op.f("ix_outgoing_mail_next_attempt_at"), ["next_attempt_at"])
    op.create_table(
        "mail_contacts",
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("bounced_at", sa.DateTime(), nullable=True),
        sa.Column("bounce_reason", sa.String(length=300), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_table(
        "freshness_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("handed_off_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("answer", sa.String(length=20), nullable=True),
        sa.Column("change_request_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["change_request_id"], ["change_requests.id"], ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("freshness_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_freshness_requests_group_id"), ["group_id"])
        batch_op.create_index(batch_op.f("ix_freshness_requests_sent_at"), ["sent_at"])
    op.create_table(
        "freshness_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["freshness_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("freshness_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_freshness_links_request_id"), ["request_id"])


def downgrade() -> None:
    op.drop_table("freshness_links")
    op.drop_table("freshness_requests")
    op.drop_table("mail_contacts")
    op.drop_table("outgoing_mail")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("confirmed_via")
        batch_op.drop_column("confirmed_at")
