"""letters (drafts, frozen letters and their files), Art 35 reasons, Art 41 corrections, outbox leases

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

from audit.guards import drop_statements, guard_statements

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FROZEN = ("letter", "letter_file")


def upgrade() -> None:
    op.create_table(
        "letter_draft",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("request.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("parts", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("request_id", "kind", name="uq_letter_draft_kind"),
    )
    op.create_table(
        "letter",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("request.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("doc_number", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issued_by", sa.String(), nullable=False),
        sa.Column("template", sa.String(), nullable=False),
        sa.Column("template_version", sa.String(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "letter_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("letter_id", sa.Integer(), sa.ForeignKey("letter.id"), nullable=False, index=True),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("letter_id", "format", name="uq_letter_file_format"),
    )
    with op.batch_alter_table("request") as b:
        b.add_column(sa.Column("reasons_requested_on", sa.Date(), nullable=True))
    with op.batch_alter_table("decision") as b:
        b.add_column(sa.Column("correction", sa.String(), nullable=True))
    with op.batch_alter_table("outbox") as b:
        b.add_column(sa.Column("claimed_by", sa.String(), nullable=True))
        b.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
    dialect = op.get_bind().dialect.name
    for table in FROZEN:
        for stmt in guard_statements(dialect, table):
            op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in FROZEN:
        for stmt in drop_statements(dialect, table):
            op.execute(stmt)
    with op.batch_alter_table("outbox") as b:
        b.drop_column("claimed_until")
        b.drop_column("claimed_by")
    with op.batch_alter_table("decision") as b:
        b.drop_column("correction")
    with op.batch_alter_table("request") as b:
        b.drop_column("reasons_requested_on")
    op.drop_table("letter_file")
    op.drop_table("letter")
    op.drop_table("letter_draft")
