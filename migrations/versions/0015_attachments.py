"""attachments: files received with a request (scans of the paper application, ID copies)

Revision ID: 0015
Revises: 0014

A new append-only table; nothing to carry forward (no request had attachments before).
"""
from alembic import op
import sqlalchemy as sa

from audit.guards import drop_statements, guard_statements

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("request.id"), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("added_by", sa.String(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('application', 'identity', 'other')", name="ck_attachment_kind"),
    )
    op.create_index("ix_attachment_request_id", "attachment", ["request_id"])
    for stmt in guard_statements(op.get_bind().dialect.name, "attachment"):
        op.execute(stmt)


def downgrade() -> None:
    for stmt in drop_statements(op.get_bind().dialect.name, "attachment"):
        op.execute(stmt)
    op.drop_index("ix_attachment_request_id", "attachment")
    op.drop_table("attachment")
