"""SQL that makes the database itself refuse to change or remove audit rows.

Used by the Alembic migration; kept here so the audit room owns its own guarantees.
"""

from __future__ import annotations

SQLITE_GUARDS = [
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
]

POSTGRESQL_GUARDS = [
    """CREATE OR REPLACE FUNCTION audit_event_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_event_refuse()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse()""",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_update_delete ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_refuse()",
]


def guard_statements(dialect: str) -> list[str]:
    return {"sqlite": SQLITE_GUARDS, "postgresql": POSTGRESQL_GUARDS}[dialect]


def drop_statements(dialect: str) -> list[str]:
    return {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}[dialect]


def app_role_grants(role: str) -> list[str]:
    """PostgreSQL: the application's role may read and add history, nothing else."""
    return [
        f'REVOKE ALL ON audit_event FROM "{role}"',
        f'GRANT SELECT, INSERT ON audit_event TO "{role}"',
        f'GRANT USAGE ON SEQUENCE audit_event_id_seq TO "{role}"',
    ]
