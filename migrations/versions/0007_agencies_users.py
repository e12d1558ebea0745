"""who acts: agencies and units as data, users with roles, API tokens, web sessions, login
attempts, and the access log (a hash chain of its own)

Every existing request, letter register and digest belongs to the one agency the settings
(GONGKAI_AGENCY__*) describe, created here from them; letters already frozen keep their bytes.

Revision ID: 0007
Revises: 0006
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa

from audit.guards import drop_statements, guard_statements
from core.config import get_settings
from core.migrate import drop_columns

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

AGENCY_FIELDS = ("name", "abbr", "letterhead", "doc_number_pattern", "address", "postcode", "phone",
                 "review_body", "court", "signature", "contact_person")


def upgrade() -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    agency = op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(), nullable=False, unique=True),
        *[sa.Column(f, sa.String(), nullable=False) for f in AGENCY_FIELDS],
        sa.Column("electronic_seal", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "agency_unit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id"), nullable=False, index=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("agency_id", "name", name="uq_agency_unit_name"),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(), nullable=False, unique=True),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id"), nullable=True, index=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("agency_unit.id"), nullable=True),
        sa.Column("scope_all", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('staff', 'legal', 'supervisor', 'admin')", name="ck_user_role"),
    )
    op.create_table(
        "user_scope",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), primary_key=True),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id"), primary_key=True),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False, index=True),
        sa.Column("token_hash", sa.String(), nullable=False, unique=True),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False, index=True),
        sa.Column("session_hash", sa.String(), nullable=False, unique=True),
        sa.Column("csrf_token", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(), nullable=False, index=True),
        sa.Column("remote", sa.String(), nullable=False, index=True),
        sa.Column("at", sa.DateTime(), nullable=False, index=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
    )
    op.create_table(
        "access_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False, unique=True),
        sa.Column("recorded_at", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
    )
    op.create_table(
        "audit_stream_head",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for stmt in guard_statements(dialect, "access_event"):
        op.execute(stmt)

    # The bootstrap agency, from the settings as they are now (placeholders if unset: letters stay
    # refused until they are filled in, by the settings or by an admin).
    given = get_settings().agency
    values = {f: getattr(given, f) for f in AGENCY_FIELDS}
    op.bulk_insert(agency, [{"id": 1, "code": given.code, **values,
                             "electronic_seal": str(given.electronic_seal) if given.electronic_seal else None,
                             "active": True, "version": 1, "created_at": now, "updated_at": now}])
    if dialect == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('agency', 'id'), 1)")

    # SQLite adds plain columns in place: a table rebuild is forbidden by the foreign keys that
    # point at `request` once it has rows, and a column in a foreign key could never be dropped
    # again. There the one door always sets agency_id; PostgreSQL enforces NOT NULL and the keys.
    op.add_column("request", sa.Column("agency_id", sa.Integer(), nullable=True))
    op.add_column("request", sa.Column("unit_id", sa.Integer(), nullable=True))
    op.execute("UPDATE request SET agency_id = 1")
    if dialect == "postgresql":
        op.execute("ALTER TABLE request ALTER COLUMN agency_id SET NOT NULL")
        op.create_foreign_key("fk_request_agency", "request", "agency", ["agency_id"], ["id"])
        op.create_foreign_key("fk_request_unit", "request", "agency_unit", ["unit_id"], ["id"])
    op.create_index("ix_request_agency_id", "request", ["agency_id"])

    # In place on PostgreSQL ("auto"): a recreated table would get a new id sequence starting at
    # 1 under the copied rows, and the next insert would collide.
    with op.batch_alter_table("letter_register") as b:
        b.add_column(sa.Column("agency_id", sa.Integer(), nullable=False, server_default="1"))
        b.drop_constraint("uq_letter_register_code_year", type_="unique")
        b.create_unique_constraint("uq_letter_register_agency_code_year", ["agency_id", "code", "year"])
    with op.batch_alter_table("digest") as b:
        b.add_column(sa.Column("agency_id", sa.Integer(), nullable=False, server_default="1"))
        b.drop_constraint("uq_digest_scope_day", type_="unique")
        b.create_unique_constraint("uq_digest_agency_scope_day", ["day", "agency_id", "scope_kind", "scope"])
    # The default only carried the existing rows to agency 1; new rows always name their agency.
    for table in ("letter_register", "digest"):
        with op.batch_alter_table(table) as b:
            b.alter_column("agency_id", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("digest") as b:
        b.drop_constraint("uq_digest_agency_scope_day", type_="unique")
        b.drop_column("agency_id")
        b.create_unique_constraint("uq_digest_scope_day", ["day", "scope_kind", "scope"])
    with op.batch_alter_table("letter_register") as b:
        b.drop_constraint("uq_letter_register_agency_code_year", type_="unique")
        b.drop_column("agency_id")
        b.create_unique_constraint("uq_letter_register_code_year", ["code", "year"])
    op.drop_index("ix_request_agency_id", "request")
    dialect = op.get_bind().dialect.name
    drop_columns("request", "unit_id", "agency_id")
    for stmt in drop_statements(dialect, "access_event"):
        op.execute(stmt)
    for table in ("audit_stream_head", "access_event", "login_attempt", "web_session", "api_token",
                  "user_scope", "user_account", "agency_unit", "agency"):
        op.drop_table(table)
