"""Benchmark: the live supervision lists (reports/live.py, GET /api/v1/supervision/…) on a large table.

Migrates a fresh database, seeds N requests (default 1,000,000): 10% open, spread over the clocked
states with due dates around "today" (a few percent of them overdue), 90% finished (replied or
archived, due and replied in the past), over 3 agencies with units, assignees and applicant kinds
in realistic shares, and applicants of whom 70% ask once and the rest come back; consulting
requests get their consultation (most still open). Then ANALYZE
(VACUUM ANALYZE on PostgreSQL, as autovacuum would leave a settled table) and measures, each over
--calls calls after a warm-up, a fresh session per call as in the API:

  overdue()            first page (limit 50), page 2 and a page in the middle via the keyset cursor, one
                       agency, one assignee, a staff user's scope (own agency and unit); the first
                       page also split into its COUNT and its page SELECT
  due_soon()           first page (each candidate with an open stop is checked on its live clock)
  counts()             per agency, the whole government
  request_page()       GET /requests's page (first, middle, by state, a unit's staff)
  request_view()       GET /requests/{id}'s view read as the route reads it: a first-time applicant's
                       open request, a returning applicant's (their earlier requests and month
                       counted), a finished one
  HTTP                 GET /api/v1/supervision/overdue through FastAPI's TestClient with a bearer
                       token: a supervisor with scope all (plain, ?agency=, ?assignee=), and staff
                       of a unit of agency 1; GET /api/v1/health as the floor of the harness
  annual_report()      last year's tables 三 and 四, all agencies and one (target ≤ 3 s); the decided
                       and finished requests are seeded with their decisions

and prints median and p95 in ms, and the query plans of the overdue statements (SQLite: EXPLAIN
QUERY PLAN; PostgreSQL: EXPLAIN ANALYZE of the custom plan and EXPLAIN of the generic plan that a
prepared statement may switch to).

Run:
  .venv/bin/python benchmarks/supervision.py                      # SQLite, a temporary file
  .venv/bin/python benchmarks/supervision.py --n 200000
  .venv/bin/python benchmarks/supervision.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
On PostgreSQL a schema bench_supervision_<hex> is created in that database, used through
search_path, and dropped at the end. --keep keeps it (or the SQLite file) and prints the --url to
measure it again with --reuse (no seeding). --no-analyze skips ANALYZE after seeding: SQLite then
plans as in a database nobody ran ANALYZE on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from psycopg import sql as pgsql  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from sqlalchemy import Engine, event, insert, text  # noqa: E402

from access import tokens, users  # noqa: E402
from access.models import Agency, Unit  # noqa: E402
from access.policy import Principal  # noqa: E402
from api.app import create_app  # noqa: E402
from api.routes import request_page  # noqa: E402
from reports.request_view import request_view  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db import session_scope, short_reads  # noqa: E402
from reports import live  # noqa: E402
from reports.annual import annual_report  # noqa: E402
from benchmarks.scratch_db import scratch_database  # noqa: E402
from states.calendar_years import calendar_for  # noqa: E402
from states.machine import CLOCKED_STATES  # noqa: E402
from states.models import Consultation, Request  # noqa: E402
from states.presence import read_for_view  # noqa: E402

TODAY = dt.date(2026, 11, 18)  # a Wednesday; the benchmark's "today"
TARGET_MS = 20  # issue 14: the live overdue list answers with p50 <= 20 ms
OPEN_SHARE = 0.10
# Open requests by state (weights): most are being reviewed; stops (consulting, awaiting a fee)
# are a small share, as in practice.
OPEN_STATES = {"received": 8, "registered": 17, "reviewing": 50, "consulting": 6,
               "awaiting_fee": 1, "decided": 18}
FINISHED_STATES = {"replied": 70, "archived": 30}
KINDS = {"natural_person": 80, "commercial": 8, "legal_service": 5, "research": 2,
         "public_interest": 2, "other": 3}
CHANNELS = {"online": 60, "post": 20, "in_person": 15, "fax": 2, "oral": 3}
AGENCY_WEIGHTS = (60, 25, 15)  # agency 1 (the migration's), and the two added here
UNITS = ("办公室", "信息公开科", "法制科")
# Applicants (core/personal_data.py applicant_key): most ask an agency once; the rest come back,
# from a pool of repeat applicants of whom a few ask hundreds of times.
ONE_TIME_SHARE = 0.7
REPEAT_APPLICANTS = 20_000
DEPARTMENTS = ("住建局", "自然资源局", "财政局", "教育局", "卫健委", "市场监管局")
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ("芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳")
assert set(OPEN_STATES) == set(CLOCKED_STATES)

COLUMNS = ("id", "number", "state", "agency_id", "unit_id", "applicant_kind", "applicant_name",
           "channel", "received_on", "description", "department", "assignee", "due_on",
           "extension_days", "extension_approved_by", "extended_on", "fee_notified_on",
           "fee_amount_yuan", "replied_on", "archived_on", "last_event_on", "created_at",
           "version", "audit_seq", "audit_head", "decided_on", "outcome", "applicant_key")
# The decisions of the decided and finished requests, in turn (the annual report's rows).
OUTCOMES = ("disclosed_already_public", "disclosed", "partially_disclosed", "unavailable_not_held",
            "withheld_third_party_rights", "not_processed_repeat", "other")
CONSULTATION_COLUMNS = ("request_id", "party", "name", "sent_on", "lapses_on", "closed_on", "opinion")


def _pick(rng: random.Random, weights: dict[str, int]) -> Callable[[], str]:
    keys, cum = list(weights), []
    total = 0
    for w in weights.values():
        total += w
        cum.append(total)
    return lambda: rng.choices(keys, cum_weights=cum)[0]


def _applicant(rng: random.Random) -> int:
    if rng.random() < ONE_TIME_SHARE:
        return REPEAT_APPLICANTS + rng.getrandbits(96)
    # ~15 requests each over a million; ten heavy ones with ~300 each
    return rng.randrange(10) if rng.random() < 0.01 else rng.randrange(10, REPEAT_APPLICANTS)


def generate(n: int, overdue_share: float, units: dict[int, list[int]], seed: int = 7
             ) -> Iterator[tuple[dict, dict | None]]:
    """(request row, consultation row or None) for ids 1..n."""
    rng = random.Random(seed)
    open_state, finished_state = _pick(rng, OPEN_STATES), _pick(rng, FINISHED_STATES)
    kind, channel = _pick(rng, KINDS), _pick(rng, CHANNELS)
    assignees = {a: [f"{s}{g}{a}" if a > 1 else f"{s}{g}" for s in SURNAMES[:4] for g in GIVEN[:2]]
                 for a in units}
    created = dt.datetime(2026, 11, 18, 1, 0, tzinfo=dt.timezone.utc)
    day = dt.timedelta(days=1)
    first_finished = dt.date(2021, 1, 4)
    finished_span = (TODAY - dt.timedelta(days=60) - first_finished).days
    for i in range(1, n + 1):
        agency = rng.choices((1, 2, 3), weights=AGENCY_WEIGHTS)[0]
        row = {"id": i, "number": f"B-{i:07d}", "agency_id": agency, "unit_id": None,
               "applicant_kind": kind(), "applicant_name": "基准申请人", "channel": channel(),
               "description": "基准测试：本区老旧小区改造项目的资金使用明细", "department": None,
               "assignee": None, "extension_days": 0, "extension_approved_by": None,
               "extended_on": None, "fee_notified_on": None, "fee_amount_yuan": None,
               "replied_on": None, "archived_on": None, "created_at": created, "version": 3,
               "audit_seq": 3, "audit_head": "0" * 64,
               "applicant_key": f"{_applicant(rng):032x}"}
        extended = rng.random() < 0.05
        consultation = None
        if rng.random() < OPEN_SHARE:
            state = open_state()
            if rng.random() < overdue_share:   # late: a few days mostly, some long forgotten
                due = TODAY - dt.timedelta(days=1 + min(int(rng.expovariate(1 / 12)), 400))
            else:
                due = TODAY + dt.timedelta(days=rng.randint(0, 40))
            received = due - dt.timedelta(days=28 + (28 if extended else 0) + rng.randint(0, 3))
            row["last_event_on"] = min(TODAY, received + dt.timedelta(days=rng.randint(0, 10)))
            if state == "consulting":
                sent = received + dt.timedelta(days=rng.randint(3, 10))
                consultation = {"request_id": i, "party": "third_party", "name": "某建设有限公司",
                                "sent_on": sent, "lapses_on": sent + dt.timedelta(days=21),
                                "closed_on": None, "opinion": None}
                if rng.random() < 0.3:
                    consultation.update(closed_on=sent + dt.timedelta(days=10), opinion="consent")
            if state == "awaiting_fee":
                row.update(fee_notified_on=received + dt.timedelta(days=5), fee_amount_yuan=100)
        else:
            state = finished_state()
            received = first_finished + dt.timedelta(days=rng.randrange(finished_span))
            due = received + dt.timedelta(days=28 + (28 if extended else 0))
            # Most in time; some late.
            row["replied_on"] = received + dt.timedelta(days=rng.randint(3, 26 if rng.random() < 0.9 else 70))
            row["last_event_on"] = row["replied_on"]
            if state == "archived":
                row["archived_on"] = row["last_event_on"] = row["replied_on"] + 30 * day
            if rng.random() < 0.03:
                sent = received + dt.timedelta(days=3)
                consultation = {"request_id": i, "party": "agency", "name": "市自然资源局",
                                "sent_on": sent, "lapses_on": sent + dt.timedelta(days=21),
                                "closed_on": sent + dt.timedelta(days=12), "opinion": "consent"}
        if extended:
            row.update(extension_days=20, extension_approved_by="李主任",
                       extended_on=received + dt.timedelta(days=25))
        if state != "received":
            row["unit_id"] = rng.choice(units[agency]) if rng.random() < 0.8 else None
            row["assignee"] = rng.choice(assignees[agency])
            row["department"] = rng.choice(DEPARTMENTS)
        row.update(state=state, received_on=received, due_on=due)
        if state in ("decided", "replied", "archived"):
            row.update(decided_on=row["replied_on"] or received, outcome=OUTCOMES[i % len(OUTCOMES)])
        else:
            row.update(decided_on=None, outcome=None)
        yield row, consultation


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn())


def seed(engine: Engine, n: int, batch: int, overdue_share: float, use_copy: bool,
         analyze: bool = True) -> dict:
    """Agencies 2 and 3 (agency 1's columns copied), 3 units each, then n requests."""
    now = dt.datetime(2026, 11, 18, 1, 0, tzinfo=dt.timezone.utc)
    with session_scope(engine) as session:
        first = dict(session.execute(Agency.__table__.select().where(Agency.id == 1)).mappings().one())
        for aid in (2, 3):
            session.execute(insert(Agency), [{**first, "id": aid, "code": f"bench-{aid}",
                                              "name": f"基准测试第{aid}机关", "abbr": f"基{aid}"}])
        session.execute(insert(Unit), [{"agency_id": a, "name": u, "created_at": now}
                                       for a in (1, 2, 3) for u in UNITS])
        units: dict[int, list[int]] = {}
        for uid, aid in session.execute(Unit.__table__.select().with_only_columns(Unit.id, Unit.agency_id)):
            units.setdefault(aid, []).append(uid)
        if engine.dialect.name == "postgresql":
            session.execute(text("SELECT setval(pg_get_serial_sequence('agency', 'id'), 3)"))
        session.commit()

    t = time.perf_counter()
    counts = {"requests": 0, "consultations": 0}
    rows: list[dict] = []
    consultations: list[dict] = []

    def flush() -> None:
        if use_copy:
            raw = engine.raw_connection()
            try:
                with raw.driver_connection.cursor() as cur:
                    with cur.copy(f"COPY request ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                        for r in rows:
                            copy.write_row([r[c] for c in COLUMNS])
                    if consultations:
                        with cur.copy(f"COPY consultation ({', '.join(CONSULTATION_COLUMNS)}) "
                                      "FROM STDIN") as copy:
                            for c in consultations:
                                copy.write_row([c[k] for k in CONSULTATION_COLUMNS])
                raw.commit()
            finally:
                raw.close()
        else:
            with session_scope(engine) as session:
                session.execute(insert(Request), rows)
                if consultations:
                    session.execute(insert(Consultation), consultations)
                session.commit()
        counts["requests"] += len(rows)
        counts["consultations"] += len(consultations)
        rows.clear()
        consultations.clear()

    with _progress() as progress:
        task = progress.add_task(f"seeding {engine.dialect.name} ({'COPY' if use_copy else 'INSERT'})",
                                 total=n)
        for row, consultation in generate(n, overdue_share, units):
            rows.append(row)
            if consultation:
                consultations.append(consultation)
            if len(rows) >= batch:
                flush()
                progress.update(task, completed=counts["requests"])
        if rows:
            flush()
        progress.update(task, completed=counts["requests"])
    with engine.begin() as conn:  # each decided request's decision row, as the door writes it
        conn.execute(text("INSERT INTO decision (request_id, outcome, decided_on, decided_by) "
                          "SELECT id, outcome, decided_on, 'bench' FROM request "
                          "WHERE decided_on IS NOT NULL"))
    counts["insert_s"] = time.perf_counter() - t

    t = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('request', 'id'), :n)"), {"n": n})
            conn.execute(text("SELECT setval(pg_get_serial_sequence('consultation', 'id'), "
                              "(SELECT coalesce(max(id), 1) FROM consultation))"))
            conn.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("request", "consultation", "decision", "agency", "agency_unit"):
                conn.execute(text(f"VACUUM {'ANALYZE ' if analyze else ''}{table}"))
    elif analyze:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    counts["analyze_s"] = time.perf_counter() - t
    return counts


class Capture:
    """The SELECT statements (and their parameters) the engine runs while `on`."""

    def __init__(self, engine: Engine):
        self.on, self.statements = False, []
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, parameters))

    def of(self, fn: Callable[[], object]) -> list[tuple[str, object]]:
        self.statements, self.on = [], True
        try:
            fn()
        finally:
            self.on = False
        return self.statements


def _label(statement: str) -> str:
    return "COUNT" if "count(*)" in statement.lower() else "PAGE"


def measure(fn: Callable[[], object], calls: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def summary(times: list[float]) -> tuple[float, float]:
    s = sorted(times)
    return statistics.median(s) * 1000, s[max(0, math.ceil(0.95 * len(s)) - 1)] * 1000


def explain(engine: Engine, statements: list[tuple[str, object]]) -> None:
    for statement, params in statements:
        shown = re.sub(r"SELECT (request\.\w+, )+request\.\w+ FROM",
                       lambda m: f"SELECT <all {m.group(0).count(',') + 1} columns of request> FROM",
                       " ".join(statement.split()))
        print(f"\n--- {_label(statement)}: {shown}\n    params {params}")
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params):
                    print(f"    {row[0]:>3} {row[1]:>3}  {row[3]}")
                continue
            print("  custom plan (the values known), EXPLAIN (ANALYZE, BUFFERS):")
            for (line,) in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params):
                print("    " + line)
            # The generic plan PostgreSQL may switch a prepared statement to (psycopg prepares a
            # query after 5 executions on a connection): parameters unknown to the planner.
            names: dict[str, int] = {}
            sql = re.sub(r"%\((\w+)\)s", lambda m: f"${names.setdefault(m.group(1), len(names) + 1)}",
                         statement)
            raw = conn.connection.driver_connection
            values = ", ".join(pgsql.Literal(params[k]).as_string(raw) for k in names)
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql(f"PREPARE bench_q AS {sql}")
            print("  generic plan (force_generic_plan), EXPLAIN EXECUTE:")
            for (line,) in conn.exec_driver_sql(f"EXPLAIN EXECUTE bench_q({values})"):
                print("    " + line)
            conn.exec_driver_sql("DEALLOCATE bench_q")
            conn.exec_driver_sql("RESET plan_cache_mode")
            conn.rollback()


def _cursor_at(session, offset: int) -> str:
    """The keyset cursor after the first `offset` + 1 rows of the overdue list."""
    day, rid = session.execute(text(
        f"SELECT due_on, id FROM request WHERE {live.CLOCKED_SQL.text} AND due_on < :d "
        "ORDER BY due_on, id LIMIT 1 OFFSET :o"), {"d": TODAY, "o": offset}).one()
    day = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
    return f"{day.isoformat()}:{rid}"


def run(engine: Engine, url: str, args: argparse.Namespace, data_dir: Path) -> None:
    if args.reuse:
        print(f"\n{engine.dialect.name}: measuring the database seeded before")
    else:
        t = time.perf_counter()
        seeded = seed(engine, args.n, args.batch, args.overdue_share,
                      use_copy=engine.dialect.name == "postgresql" and not args.no_copy,
                      analyze=not args.no_analyze)
        pg = engine.dialect.name == "postgresql"
        after = ("VACUUM" if pg else "") + (" ANALYZE" if not args.no_analyze else
                                             " (no ANALYZE)" if not pg else "")
        print(f"\n{engine.dialect.name}: seeded {seeded['requests']:,} requests and "
              f"{seeded['consultations']:,} consultations in {seeded['insert_s']:.1f} s; "
              f"{after.strip()} {seeded['analyze_s']:.1f} s; "
              f"total seeding {time.perf_counter() - t:.1f} s")
    settings = Settings(today_override=TODAY, database_url=url, data_dir=data_dir,
                        log_level="WARNING")
    with session_scope(engine) as session:
        calendar = calendar_for(session, settings)
        n = session.execute(text("SELECT count(*) FROM request")).scalar()
        open_n = session.execute(text(f"SELECT count(*) FROM request WHERE {live.CLOCKED_SQL.text}")).scalar()
        overdue_n = live.overdue(session, TODAY, calendar, live.Filters()).total
        busiest = session.execute(text(
            f"SELECT assignee, count(*) FROM request WHERE {live.CLOCKED_SQL.text} AND due_on < :d "
            "AND assignee IS NOT NULL "
            "GROUP BY assignee ORDER BY count(*) DESC LIMIT 1"), {"d": TODAY}).one()
        staff_unit = session.execute(text("SELECT min(id) FROM agency_unit WHERE agency_id = 1")).scalar()
        if overdue_n < 52:
            raise SystemExit(f"only {overdue_n} overdue: seed more (--n, --overdue-share)")
        second, middle = _cursor_at(session, 49), _cursor_at(session, overdue_n // 2)
        others = ("EXISTS (SELECT 1 FROM request o WHERE o.agency_id = request.agency_id "
                  "AND o.applicant_key = request.applicant_key AND o.id <> request.id)")
        open_id, repeat_id = (session.execute(text(
            f"SELECT min(id) FROM request WHERE state = 'reviewing' AND id > :h AND {how}"),
            {"h": n // 2}).scalar() for how in (f"NOT {others}", others))
        finished_id = session.execute(text("SELECT min(id) FROM request WHERE state = 'replied' "
                                           "AND id > :h"), {"h": n // 2}).scalar()
        known = set(session.execute(text("SELECT username FROM user_account")).scalars())
        main_code = session.execute(text("SELECT code FROM agency WHERE id = 1")).scalar()
        unit_name = session.execute(text("SELECT name FROM agency_unit WHERE id = :u"),
                                    {"u": staff_unit}).scalar()
    secrets = {}
    with session_scope(engine) as session:
        if "bench.supervisor" not in known:
            users.add_user(session, "bench.supervisor", "supervisor", actor="bench:setup", scope="all")
        if "bench.staff" not in known:
            users.add_user(session, "bench.staff", "staff", actor="bench:setup", agency=main_code,
                           unit=unit_name)
        for who in ("bench.supervisor", "bench.staff"):
            secrets[who] = tokens.create_token(session, who, days=30, actor="bench:setup")[1]
        session.commit()
    everyone = Principal(0, "bench.supervisor", "supervisor", None, None, None, "token")
    unit_staff = Principal(0, "bench.staff", "staff", 1, staff_unit, frozenset({1}), "token")
    print(f"{n:,} requests, {open_n:,} open, {overdue_n:,} overdue today {TODAY}; busiest "
          f"assignee {busiest[0]!r} with {busiest[1]} overdue; cursors: page 2 {second}, "
          f"middle {middle}")

    capture = Capture(engine)

    reader = short_reads(engine)  # as the API's GET routes read

    def call(fn):
        def go():
            with session_scope(reader) as session:
                return fn(session)
        return go

    def statement(sql: str, params) -> Callable[[], object]:
        def go():
            with engine.connect() as conn:
                return conn.exec_driver_sql(sql, params).fetchall()
        return go

    f_all = live.Filters()
    first_page = call(lambda s: live.overdue(s, TODAY, calendar, f_all))
    cursor_page = call(lambda s: live.overdue(s, TODAY, calendar, f_all, after=middle))
    cases: list[tuple[str, Callable[[], object]]] = [("overdue() first page", first_page)]
    cases += [(f"  its {_label(sql)} statement alone (execute+fetch)", statement(sql, params))
              for sql, params in capture.of(first_page)]
    cases += [
        ("overdue() page 2 (cursor)", call(lambda s: live.overdue(s, TODAY, calendar, f_all,
                                                                  after=second))),
        ("overdue() middle page (cursor)", cursor_page),
        ("overdue() agency=2", call(lambda s: live.overdue(s, TODAY, calendar,
                                                           live.Filters(agency_id=2)))),
        ("overdue() assignee", call(lambda s: live.overdue(s, TODAY, calendar,
                                                           live.Filters(assignee=busiest[0])))),
        ("overdue() staff scope (agency 1, unit)",
         call(lambda s: live.overdue(s, TODAY, calendar, live.Filters(agency_ids=frozenset({1}),
                                                                      unit_id=staff_unit)))),
        ("due_soon() first page", call(lambda s: live.due_soon(s, TODAY, calendar, settings, f_all))),
        ("counts() all agencies", call(lambda s: live.counts(s, TODAY, calendar, settings, None))),
        # GET /requests (the 台账) and GET /requests/{id}, without HTTP (issue 17: ≤ 5 / ≤ 1.5 ms)
        ("request_page() first page", call(lambda s: request_page(s, settings, everyone))),
        ("request_page() middle page (after)",
         call(lambda s: request_page(s, settings, everyone, after=n // 2))),
        ("request_page() state=reviewing", call(lambda s: request_page(s, settings, everyone,
                                                                      state="reviewing"))),
        ("request_page() staff scope (agency 1, unit)",
         call(lambda s: request_page(s, settings, unit_staff))),
        # read as GET /requests/{id} reads it (api/deps.py visible_request, view=True)
        ("request_view() one open request",
         call(lambda s: request_view(s, read_for_view(s, open_id), settings))),
        ("request_view() open, applicant's n-th request",
         call(lambda s: request_view(s, read_for_view(s, repeat_id), settings))),
        ("request_view() one finished request",
         call(lambda s: request_view(s, read_for_view(s, finished_id), settings))),
    ]
    results: list[tuple[str, list[float]]] = []
    with _progress() as progress:
        task = progress.add_task("measuring", total=len(cases) + 5)
        for name, fn in cases:
            results.append((name, measure(fn, args.calls)))
            progress.advance(task)
        app = create_app(engine, settings)
        with TestClient(app) as client:
            def health():
                assert client.get("/api/v1/health").status_code == 200
            results.append(("HTTP GET /health (the harness's floor)", measure(health, args.calls)))
            progress.advance(task)
            for name, who, params in (
                    ("HTTP GET /supervision/overdue", "bench.supervisor", {}),
                    ("HTTP GET …/overdue?agency=bench-2", "bench.supervisor", {"agency": "bench-2"}),
                    ("HTTP GET …/overdue?assignee=", "bench.supervisor", {"assignee": busiest[0]}),
                    ("HTTP GET …/overdue as staff of a unit", "bench.staff", {}),
                    ("HTTP GET /requests", "bench.supervisor", {"path": "/api/v1/requests"}),
                    ("HTTP GET /requests?after= (middle)", "bench.supervisor",
                     {"path": "/api/v1/requests", "after": n // 2}),
                    ("HTTP GET /requests/{id}", "bench.supervisor",
                     {"path": f"/api/v1/requests/{open_id}"})):
                def get(params=params, who=who):
                    params = dict(params)
                    path = params.pop("path", "/api/v1/supervision/overdue")
                    r = client.get(path, params=params,
                                   headers={"Authorization": f"Bearer {secrets[who]}"})
                    assert r.status_code == 200, r.text
                results.append((name, measure(get, args.calls)))
                progress.advance(task)

    # The annual report (target: a year in ≤ 3 s) over the decisions seeded with the requests.
    year = TODAY.year - 1
    for label, ids in ((f"annual_report({year}) all agencies", None),
                       (f"annual_report({year}) agency 2", [2])):
        results.append((label, measure(call(lambda s, ids=ids: annual_report(s, year, ids)), args.calls,
                                       warmup=1)))

    print(f"\n{engine.dialect.name}, {n:,} requests: ms over {args.calls} calls "
          f"(after 5 warm-up calls)")
    print(f"{'measurement':<48} {'median':>8} {'p95':>8}   target: overdue list p50 <= {TARGET_MS} ms")
    for name, times in results:
        p50, p95 = summary(times)
        verdict = ""
        if name.startswith("overdue()") or name.startswith("HTTP GET /supervision/overdue") \
                or name.startswith("HTTP GET …/overdue"):
            verdict = "met" if p50 <= TARGET_MS else "MISSED"
        elif name.startswith("request_page("):
            verdict = "met (≤ 5 ms)" if p50 <= 5 else "MISSED (target 5 ms)"
        elif name.startswith("request_view("):
            verdict = "met (≤ 1.5 ms)" if p50 <= 1.5 else "MISSED (target 1.5 ms)"
        elif name.startswith("annual_report("):
            verdict = "met (≤ 3 s)" if p50 <= 3000 else "MISSED (target 3 s)"
        print(f"{name:<48} {p50:8.2f} {p95:8.2f}   {verdict}")

    print(f"\nQuery plans of overdue() on {engine.dialect.name}:")
    for name, fn in cases:
        if name.startswith("overdue()"):
            print(f"\n===== {name}")
            explain(engine, [(sql, params) for sql, params in capture.of(fn)
                             if "(cursor)" not in name or _label(sql) == "PAGE"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="requests to seed")
    parser.add_argument("--url", default=None,
                        help="PostgreSQL URL (a schema is created in it); default SQLite temp file")
    parser.add_argument("--calls", type=int, default=60, help="timed calls per measurement")
    parser.add_argument("--batch", type=int, default=50_000, help="rows per insert batch")
    parser.add_argument("--overdue-share", type=float, default=0.06,
                        help="share of the open requests that are overdue today")
    parser.add_argument("--no-copy", action="store_true", help="PostgreSQL: INSERT, not COPY")
    parser.add_argument("--no-analyze", action="store_true",
                        help="no ANALYZE after seeding (SQLite then plans without sqlite_stat1, as "
                        "in a database nobody ran ANALYZE on; PostgreSQL still VACUUMs)")
    parser.add_argument("--keep", action="store_true", help="keep the database (schema) afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the database at --url as it is (one kept with --keep: a "
                        "sqlite:/// URL, or the PostgreSQL URL with its search_path) without seeding")
    args = parser.parse_args()
    if args.reuse and not (args.url and (args.url.startswith("sqlite") or "search_path" in args.url)):
        parser.error("--reuse needs --url of the kept database (sqlite:///… or with search_path)")
    with scratch_database(args.url, "bench_supervision", keep=args.keep) as scratch:
        run(scratch.engine, scratch.url, args, scratch.data_dir)

if __name__ == "__main__":
    main()
