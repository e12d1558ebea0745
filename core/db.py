"""The database engine: SQLite (WAL, BEGIN IMMEDIATE) by default, PostgreSQL via psycopg.

SQLite's default deferred transactions take the write lock only at the first write, so two
writers that both read first deadlock and one fails with "database is locked" (measured).
Every transaction here therefore starts with BEGIN IMMEDIATE, which queues writers on the
busy timeout instead. WAL lets readers go on while a writer holds the lock.

Every engine hides its SQL parameters from its exceptions (`hide_parameters`): a failed INSERT
would otherwise print the applicant's row — name, ID number, phone, address — into whatever logs
the traceback (our lines, uvicorn's, Prefect's), and no pattern can recognise a name.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from core.config import get_settings


# Execution option of a connection that never writes: `engine.connect().execution_options(**{READ_ONLY: True})`.
READ_ONLY = "gongkai_read_only"


def make_engine(url: str, *, busy_timeout_ms: int | None = None, **kwargs) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)

        @event.listens_for(engine, "connect")
        def _utc(dbapi_conn, _record):
            # Timestamps are stored as UTC without an offset; make the session agree whatever
            # the server's TimeZone setting is.
            with dbapi_conn.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
            dbapi_conn.commit()

        return engine

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    timeout_ms = busy_timeout_ms or get_settings().sqlite_busy_timeout_ms
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": timeout_ms / 1000},
        hide_parameters=True, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" event, not pysqlite, decide how a transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    writers = _writer_lock(parsed.database or ":memory:")

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A connection that only reads (READ_ONLY) begins deferred: it takes no write lock, so
        # it neither waits for writers nor makes them wait (WAL gives it a consistent snapshot).
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            return
        # Writers of this process queue on a lock before SQLite's: SQLite's busy handler sleeps
        # and retries, so under 8 concurrent writers the unlucky ones waited seconds (p99 2.8 s
        # for `register`, benchmarks/advance_http.py). Other processes still meet SQLite's.
        if writers.acquire(timeout=timeout_ms / 1000):
            conn.info[_HOLDS] = writers
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    @event.listens_for(engine, "commit")
    def _on_commit(conn):
        _release(conn.info)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn):
        _release(conn.info)

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_conn, record):
        _release(record.info)  # a connection returned mid-transaction: never keep the queue

    return engine


_HOLDS = "gongkai_writer_lock"
_WRITER_LOCKS: dict[str, "WriterQueue"] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


class WriterQueue:
    """A lock granted in the order it was asked for. threading.Lock wakes whichever waiter the OS
    picks: under 8 concurrent writers some waited behind many later ones (p99 3× the p50,
    benchmarks/advance_http.py). Released by any thread: a session may begin in one thread of the
    pool and commit in another."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float = -1) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            mine = threading.Lock()
            mine.acquire()
            self._waiters.append(mine)
        if mine.acquire(timeout=timeout):
            return True  # handed over by release(): the queue is ours
        with self._mutex:
            try:
                self._waiters.remove(mine)
                return False
            except ValueError:
                return True  # handed over just as the wait ran out: ours all the same

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # straight to the next in line
            else:
                self._held = False


def _writer_lock(database: str) -> WriterQueue:
    """One queue per SQLite file and process, shared by every engine on it."""
    key = database if database == ":memory:" else str(Path(database).resolve())
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, WriterQueue())


def _release(info: dict) -> None:
    lock = info.pop(_HOLDS, None)
    if lock is not None:
        lock.release()


def short_reads(engine: Engine) -> Engine:
    """The engine for short reads (a GET's answer, authentication, the answer of a write): on
    SQLite a deferred transaction that takes no write lock; on PostgreSQL autocommit — in its
    READ COMMITTED every statement sees a fresh snapshot anyway, so the BEGIN and ROLLBACK were
    two round trips of a one-request view's nine, for nothing."""
    options: dict = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return engine.execution_options(**options)


def snapshot_reads(engine: Engine) -> Engine:
    """The engine for a read whose statements must agree with one another (a request's row and
    its history, checked against each other): on PostgreSQL REPEATABLE READ, one snapshot for
    the transaction; on SQLite a deferred transaction on WAL is one already."""
    options: dict = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    return engine.execution_options(**options)


def read_only(engine: Engine) -> Connection:
    """A connection for a long read that sees one snapshot and blocks no writer (SQLite: a
    deferred transaction on WAL; PostgreSQL: REPEATABLE READ). Begin it with any statement."""
    options: dict = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    return engine.connect().execution_options(**options)


def driver_batches(conn: Connection, sql: str, params: dict | None = None, *, name: str,
                   size: int = 20_000) -> Iterator[list[tuple]]:
    """The rows of `sql` (`:name` parameters) in batches of plain tuples from the driver's own
    cursor — a server-side one on PostgreSQL, so a million rows are never in memory at once.
    For passes over every row, where SQLAlchemy's row objects would cost more than the work."""
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cursor = raw.cursor(name=name)
        cursor.itersize = size
        sql = re.sub(r":(\w+)", r"%(\1)s", sql)
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql, params or {})
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().effective_database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose transaction is rolled back unless its one owner commits it: the caller
    that wrote calls `session.commit()` once, when everything it meant to do is done; a read,
    an exception or a forgotten commit leaves nothing behind."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        # Closing the session rolls back whatever was not committed; the objects it loaded stay
        # readable (detached, not expired) for the caller.
        yield session


@contextmanager
def planned_each_time(conn: Connection) -> Iterator[Connection]:
    """Statements run on `conn` meanwhile are planned with their actual parameters every time.
    psycopg prepares a statement once a connection has run it five times, and PostgreSQL may
    then keep one plan for every parameter ("generic plan"), chosen as if each applicant had a
    request or two: for one with two thousand it took 13–23 ms instead of 0.6
    (benchmarks/similar.py). Only for statements whose best plan depends on skewed data: the
    planning (~0.5 ms) is paid on each run. A no-op on SQLite, which plans every statement."""
    raw = conn.connection.driver_connection
    if not hasattr(raw, "prepare_threshold"):
        yield conn
        return
    before, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        yield conn
    finally:
        raw.prepare_threshold = before


def refresh_statistics(engine: Engine) -> None:
    """SQLite plans from sqlite_stat1, which only ANALYZE writes: without it the live lists lose
    their partial indexes to ix_request_state (1M requests: ~300 ms instead of ~3 ms, measured by
    benchmarks/supervision.py). PostgreSQL's autovacuum keeps its own statistics."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def next_in_counter(session: Session, counter, **keys) -> int:
    """Add one to the counter row of `counter` (a table with the `keys` columns, unique together,
    and `last`) and return it, creating the row at 1: one upsert, so concurrent callers never get
    the same number (the row is locked until the transaction ends)."""
    return session.execute(_counter_upsert(counter.__tablename__, tuple(sorted(keys))),
                           keys).scalar_one()


@lru_cache(maxsize=None)
def _counter_upsert(table: str, keys: tuple[str, ...]):
    # Plain SQL, built once: SQLAlchemy compiled the dialect's upsert afresh on every call
    # (~1 ms of a `register`, profiled). Both databases speak this ON CONFLICT … RETURNING.
    columns = ", ".join(keys)
    return text(f"INSERT INTO {table} ({columns}, last) VALUES "
                f"({', '.join(':' + k for k in keys)}, 1) ON CONFLICT ({columns}) "
                f"DO UPDATE SET last = {table}.last + 1 RETURNING last")
