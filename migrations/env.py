"""Alembic environment: migrates the engine's database (GONGKAI_DATABASE_URL or the embedded SQLite)."""

from alembic import context
from sqlmodel import SQLModel

import audit.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import states.models  # noqa: F401
import replies.models  # noqa: F401
import workflows.models  # noqa: F401
from core.db import make_engine
from core.config import get_settings

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().effective_database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
