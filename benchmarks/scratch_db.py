"""A throwaway database for a benchmark: a SQLite file in a temporary directory, or a fresh
schema in the PostgreSQL database named by the URL (used through search_path), migrated, and
removed again when the benchmark ends."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from core.db import make_engine
from core.migrate import upgrade


@contextmanager
def scratch_engine(url: str | None, prefix: str) -> Iterator[Engine]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"gongkai-{prefix}-"))
    admin = schema = None
    if url and make_url(url).get_backend_name() == "postgresql":
        schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    else:
        url = url or f"sqlite:///{data_dir}/bench.db"
    try:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
    finally:
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(data_dir, ignore_errors=True)
