"""A throwaway database for a benchmark: a SQLite file in a temporary directory, or a fresh
schema in the PostgreSQL database named by the URL (used through search_path), migrated, and
removed again when the benchmark ends — unless kept (`keep`), or given already (a sqlite:/// URL
or one with its search_path: used as it is)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from core.db import make_engine
from core.migrate import upgrade


@dataclass
class Scratch:
    engine: Engine
    url: str
    data_dir: Path   # a temporary directory for files the benchmark writes


@contextmanager
def scratch_database(url: str | None, prefix: str, *, keep: bool = False) -> Iterator[Scratch]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"gongkai-{prefix}-"))
    admin = schema = None
    if url and make_url(url).get_backend_name() == "postgresql" and "search_path" not in url:
        schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    given = url is not None and schema is None
    url = url or f"sqlite:///{data_dir}/bench.db"
    try:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield Scratch(engine, url, data_dir)
        finally:
            engine.dispose()
    finally:
        if admin is not None:
            if keep:
                print(f"\nkept schema {schema}: --reuse --url '{url}'")
            else:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        if keep and not given and schema is None:
            print(f"kept: --reuse --url {url}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def scratch_engine(url: str | None, prefix: str) -> Iterator[Engine]:
    with scratch_database(url, prefix) as scratch:
        yield scratch.engine
