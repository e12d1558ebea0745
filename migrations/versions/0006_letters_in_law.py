"""letters a legal reviewer would sign: the 文号 register, Art 35 reasons and deferral, Art 32
overrides per third party, consultation matters, partial-disclosure grounds, 补正 grounds

Existing letters keep their numbers; the register starts after the highest number already used
for each code and year, so no new number repeats an old one.

Revision ID: 0006
Revises: 0005
"""
import re

from alembic import op
import sqlalchemy as sa

from core.migrate import drop_columns

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SEQ = re.compile(r"〔(\d{4})〕(\d+)号$")


def upgrade() -> None:
    with op.batch_alter_table("request") as b:
        b.add_column(sa.Column("supplement_grounds", sa.String(), nullable=True))
        b.add_column(sa.Column("reasons_period_days", sa.Integer(), nullable=True))
        b.add_column(sa.Column("reasons_served_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("reasons_answered_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("reasons_reasonable", sa.Boolean(), nullable=True))
        b.add_column(sa.Column("deferred_to", sa.Date(), nullable=True))
        b.add_column(sa.Column("deferral_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("consultation") as b:
        b.add_column(sa.Column("matter", sa.Text(), nullable=True))
    with op.batch_alter_table("decision") as b:
        b.add_column(sa.Column("responsible_agency_contact", sa.String(), nullable=True))
        b.add_column(sa.Column("withheld_ground", sa.String(), nullable=True))
        b.add_column(sa.Column("overrides", sa.Text(), nullable=True))
    with op.batch_alter_table("letter_file") as b:
        b.add_column(sa.Column("sealed_with", sa.String(), nullable=True))
    register = op.create_table(
        "letter_register",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.UniqueConstraint("code", "year", name="uq_letter_register_code_year"),
    )
    # Start each register after the numbers already issued: old letters took the request's
    # sequence, so the highest one per code and year is where the register must go on from.
    codes = {"acknowledgement": "登", "supplement_notice": "补", "reasons_notice": "理",
             "extension_notice": "延", "consultation_third_party": "征", "consultation_agency": "函",
             "public_interest_notice": "告", "fee_notice": "费"}
    last: dict[tuple[str, int], int] = {}
    for kind, number in op.get_bind().execute(sa.text("SELECT kind, doc_number FROM letter")):
        found = _SEQ.search(number or "")
        if not found:
            continue
        code = codes.get(kind, "答")
        key = (code, int(found.group(1)))
        last[key] = max(last.get(key, 0), int(found.group(2)))
    if last:
        op.bulk_insert(register, [{"code": c, "year": y, "last": n} for (c, y), n in sorted(last.items())])


def downgrade() -> None:
    op.drop_table("letter_register")
    drop_columns("letter_file", "sealed_with")
    drop_columns("decision", "overrides", "withheld_ground", "responsible_agency_contact")
    drop_columns("consultation", "matter")
    drop_columns("request", "deferral_reason", "deferred_to", "reasons_reasonable", "reasons_answered_on", "reasons_served_on", "reasons_period_days", "supplement_grounds")
