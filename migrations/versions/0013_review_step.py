"""the review step: 保密审查 records, internal consultations (法律顾问, 司法局, 联席会议) that do not
stop the clock, the legal reviewer's sign-off (法制审核) and which outcome groups need it per agency,
fees computed with their basis (109号), Art 35's per-applicant monthly counts (an applicant key
on each request, computed here for the existing ones), request fingerprints for repeats and
similar requests, and records of information published proactively (Art 44)

Existing agencies get the default sign-off groups (部分公开, 不予公开) and threshold (10 a month).
Existing fees keep their typed amount, with no method or basis. Fingerprints of existing requests
are computed by `gongkai requests fingerprint` (and the nightly maintenance), not here.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

from core.migrate import drop_columns
from core.personal_data import applicant_key

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

REQUEST_COLUMNS = (("legal_signed_by", sa.String()), ("legal_signed_on", sa.Date()),
                   ("legal_returned_on", sa.Date()),
                   ("fee_method", sa.String()), ("fee_units", sa.Integer()),
                   ("fee_basis", sa.Text()), ("applicant_key", sa.String()))


def upgrade() -> None:
    op.create_table(
        "confidentiality_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("request.id"), nullable=False, unique=True),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reviewer", sa.String(), nullable=False),
        sa.Column("conclusion", sa.String(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("redactions", sa.Text(), nullable=True),
        sa.CheckConstraint("conclusion IN ('disclosable', 'partly_disclosable', 'not_disclosable')",
                           name="ck_confidentiality_review_conclusion"))
    op.create_table(
        "internal_consultation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("request.id"), nullable=False, index=True),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("matter", sa.Text(), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("opinion", sa.Text(), nullable=True),
        sa.CheckConstraint("body IN ('legal_adviser', 'justice_bureau', 'joint_meeting', 'other')",
                           name="ck_internal_consultation_body"))
    op.create_table(
        "request_fingerprint",
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("request.id"), primary_key=True),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False))
    op.create_table(
        "similarity_band",
        sa.Column("key", sa.BigInteger(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("request.id"), primary_key=True,
                  index=True))
    op.create_table(
        "proactive_disclosure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id"), nullable=False, index=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False))
    op.create_table(
        "proactive_disclosure_request",
        sa.Column("disclosure_id", sa.Integer(), sa.ForeignKey("proactive_disclosure.id"),
                  primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("request.id"), primary_key=True,
                  index=True))
    # Plain nullable columns, added in place (see 0007 on why `request` is never rebuilt).
    for name, type_ in REQUEST_COLUMNS:
        op.add_column("request", sa.Column(name, type_, nullable=True))
    op.add_column("agency", sa.Column("legal_signoff", sa.String(), nullable=False,
                                      server_default="部分公开,不予公开"))
    op.add_column("agency", sa.Column("excess_threshold", sa.Integer(), nullable=False,
                                      server_default="10"))
    bind, last = op.get_bind(), 0
    select = sa.text("SELECT id, applicant_kind, applicant_name, applicant_id_number, applicant_phone, "
                     "applicant_email, applicant_address FROM request WHERE id > :last ORDER BY id "
                     "LIMIT 10000")
    update = sa.text("UPDATE request SET applicant_key = :key WHERE id = :id")
    while rows := bind.execute(select, {"last": last}).all():
        bind.execute(update, [{"id": r[0], "key": applicant_key(*r[1:])} for r in rows])
        last = rows[-1][0]
    op.create_index("ix_request_applicant_month", "request",
                    ["agency_id", "applicant_key", "received_on"])


def downgrade() -> None:
    op.drop_index("ix_request_applicant_month", "request")
    drop_columns("agency", "excess_threshold", "legal_signoff")
    drop_columns("request", *[name for name, _ in reversed(REQUEST_COLUMNS)])
    for table in ("proactive_disclosure_request", "proactive_disclosure", "similarity_band",
                  "request_fingerprint", "internal_consultation", "confidentiality_review"):
        op.drop_table(table)
