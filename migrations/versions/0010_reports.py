"""the annual report: 行政复议 / 行政诉讼 cases per request (table 四), reports as published
(later changes are listed as corrections), and the index the year's results are counted by

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_challenge",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("request.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("after_reconsideration", sa.Boolean(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("case_number", sa.String(), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=False, index=True),
        sa.Column("result", sa.String(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('reconsideration', 'lawsuit')", name="ck_challenge_kind"),
        sa.CheckConstraint("result IS NULL OR result IN ('upheld', 'corrected', 'other')",
                           name="ck_challenge_result"),
    )
    op.create_table(
        "published_report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agencies", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("layout", sa.String(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("agencies", "year", "layout", name="uq_published_report"),
    )
    # The year's results are counted by decision date, per request's agency and applicant kind.
    op.create_index("ix_decision_decided_on_request", "decision", ["decided_on", "request_id", "outcome"])
    op.create_index("ix_request_agency_received", "request", ["agency_id", "received_on"])


def downgrade() -> None:
    op.drop_index("ix_request_agency_received", "request")
    op.drop_index("ix_decision_decided_on_request", "decision")
    op.drop_table("published_report")
    op.drop_table("legal_challenge")
