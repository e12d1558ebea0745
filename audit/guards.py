"""SQL that makes the database itself refuse to change or remove append-only rows.

Used by the Alembic migrations; kept here so the audit room owns its own guarantees. The
audit log is the first such table; frozen letters (what was sent) are guarded the same way.
"""

from __future__ import annotations


def _sqlite(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
       BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
       BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END""",
    ]


def _postgresql(table: str) -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION {table}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
        f"""CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
       FOR EACH ROW EXECUTE FUNCTION {table}_refuse()""",
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
       FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse()""",
    ]


def guard_statements(dialect: str, table: str = "audit_event") -> list[str]:
    return {"sqlite": _sqlite, "postgresql": _postgresql}[dialect](table)


def drop_statements(dialect: str, table: str = "audit_event") -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    return [f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_refuse()"]


def app_role_grants(role: str) -> list[str]:
    """PostgreSQL: the application's role may read and add history, nothing else."""
    return [
        f'REVOKE ALL ON audit_event FROM "{role}"',
        f'GRANT SELECT, INSERT ON audit_event TO "{role}"',
        f'GRANT USAGE ON SEQUENCE audit_event_id_seq TO "{role}"',
    ]
