"""Run the Alembic migrations programmatically (CLI, service start-up, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def drop_columns(table: str, *columns: str) -> None:
    """For a migration's downgrade: drop plain columns. SQLite's batch mode would rebuild the
    table, which foreign keys to it forbid once it has rows; SQLite 3.35+ drops them in place."""
    from alembic import op

    if op.get_bind().dialect.name == "sqlite":
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        with op.batch_alter_table(table) as b:
            for column in columns:
                b.drop_column(column)
