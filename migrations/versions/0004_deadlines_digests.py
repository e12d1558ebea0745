"""due-soon / overdue flags on requests and the reminder digests

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request") as b:
        b.add_column(sa.Column("deadline_flag", sa.String(), nullable=True))
        b.add_column(sa.Column("flagged_on", sa.Date(), nullable=True))
        b.create_index("ix_request_deadline_flag", ["deadline_flag"])
    op.create_table(
        "digest",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False, index=True),
        sa.Column("scope_kind", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        sa.Column("due_soon", sa.Integer(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.Column("email_to", sa.String(), nullable=True),
        sa.Column("email_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("day", "scope_kind", "scope", name="uq_digest_scope_day"),
    )


def downgrade() -> None:
    op.drop_table("digest")
    with op.batch_alter_table("request") as b:
        b.drop_index("ix_request_deadline_flag")
        b.drop_column("flagged_on")
        b.drop_column("deadline_flag")
