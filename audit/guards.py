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


# Tables whose rows are never changed nor removed once written: the histories, the letters as
# sent and their files, the service records, the checkpoints' leaves, subtrees and signed heads,
# the files received with requests.
APPEND_ONLY = ("audit_event", "access_event", "letter", "letter_file", "service_record",
               "audit_leaf", "audit_node", "audit_checkpoint", "attachment")


def app_role_grants(role: str, schema: str = "public", quote=lambda name: f'"{name}"') -> list[str]:
    """PostgreSQL, run by the owner after `gongkai db upgrade`: the application's role reads and
    writes what it works on, but on the append-only tables it may only read and add — so even a
    trigger disabled by the owner leaves the service unable to rewrite history. The schema itself
    (migrations) stays the owner's."""
    r, s = quote(role), quote(schema)
    return [
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        *[f"REVOKE UPDATE, DELETE, TRUNCATE ON {s}.{t} FROM {r}" for t in APPEND_ONLY],
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {s}.alembic_version FROM {r}",
    ]
