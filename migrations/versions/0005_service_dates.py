"""service dates (送达): how and when each outgoing letter reached its addressee

Periods the law gives the recipient (补正, consultation 15, fee 20) now run from the service date.
Existing rows carry no service record: their periods stay counted from the issue day, now marked
as presumed, so every due date an agency had before the upgrade is unchanged.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

from core.migrate import drop_columns

from audit.guards import drop_statements, guard_statements

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

METHODS = ("in_person", "post", "email", "website")


def upgrade() -> None:
    op.create_table(
        "service_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("request.id"), nullable=False, index=True),
        sa.Column("letter_id", sa.Integer(), sa.ForeignKey("letter.id"), nullable=False, index=True),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("tracking_number", sa.String(), nullable=True),
        sa.Column("served_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("method IN (" + ", ".join(f"'{m}'" for m in METHODS) + ")",
                           name="ck_service_method"),
    )
    with op.batch_alter_table("request") as b:
        b.add_column(sa.Column("supplement_period_days", sa.Integer(), nullable=True))
        b.add_column(sa.Column("supplement_served_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("fee_served_on", sa.Date(), nullable=True))
    with op.batch_alter_table("consultation") as b:
        b.add_column(sa.Column("served_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("letter_id", sa.Integer(), nullable=True))
    # Link each existing consultation to the letter that asked it (same request, addressee, day).
    op.execute("""
        UPDATE consultation SET letter_id = (
          SELECT MIN(letter.id) FROM letter
          WHERE letter.request_id = consultation.request_id
            AND letter.kind IN ('consultation_third_party', 'consultation_agency')
            AND letter.recipient = consultation.name AND letter.issued_on = consultation.sent_on)
    """)
    dialect = op.get_bind().dialect.name
    for stmt in guard_statements(dialect, "service_record"):
        op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for stmt in drop_statements(dialect, "service_record"):
        op.execute(stmt)
    drop_columns("consultation", "letter_id", "served_on")
    drop_columns("request", "fee_served_on", "supplement_served_on", "supplement_period_days")
    op.drop_table("service_record")
