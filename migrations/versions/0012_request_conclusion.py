"""the request row carries its final decision's date and outcome (copied from `decision` by the one
door), so the annual report counts from two covering indexes instead of joining every request of
the past years to its decision (SQLite, 1M requests: a year for all agencies 7.0 s → see the README);
existing decisions are copied forward

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

from core.migrate import drop_columns

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain nullable columns, added in place (see 0007 on why `request` is never rebuilt).
    op.add_column("request", sa.Column("decided_on", sa.Date(), nullable=True))
    op.add_column("request", sa.Column("outcome", sa.String(), nullable=True))
    op.execute("UPDATE request SET decided_on = (SELECT d.decided_on FROM decision d "
               "WHERE d.request_id = request.id), outcome = (SELECT d.outcome FROM decision d "
               "WHERE d.request_id = request.id) "
               "WHERE id IN (SELECT request_id FROM decision)")
    # 本年新收 by receipt date; 上年结转 / 结转下年度 and 办理结果 by the decision's date (NULL: open),
    # per agency (the whole government is its agencies' ranges, one after the other). They replace
    # 0010's indexes, which left every count a row lookup per request.
    op.drop_index("ix_request_agency_received", "request")
    op.drop_index("ix_decision_decided_on_request", "decision")
    op.create_index("ix_request_report_received", "request",
                    ["agency_id", "received_on", "applicant_kind"])
    op.create_index("ix_request_report_decided", "request",
                    ["agency_id", "decided_on", "received_on", "applicant_kind", "outcome"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ANALYZE request")


def downgrade() -> None:
    op.drop_index("ix_request_report_decided", "request")
    op.drop_index("ix_request_report_received", "request")
    op.create_index("ix_decision_decided_on_request", "decision", ["decided_on", "request_id", "outcome"])
    op.create_index("ix_request_agency_received", "request", ["agency_id", "received_on"])
    drop_columns("request", "outcome", "decided_on")
