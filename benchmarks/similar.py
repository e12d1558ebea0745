"""Benchmark: request fingerprints (states/fingerprints.py) and the per-applicant counts
(states/applicants.py) on a large table.

Migrates a fresh database and seeds N requests (default 100,000) with benchmarks/supervision.py's
`seed` (bulk INSERT on SQLite, COPY on PostgreSQL), its rows given varied Chinese descriptions and
applicant keys generated here:

  * 20 % from 6 heavy applicants (each ~50 requests a month over 3 agencies), who keep asking
    about a pool of their own subjects, reworded: repeats exist;
  * 5 % on 12 popular subjects (a fixed place, project, topic and year, reworded), from many
    applicants: Art 44 clusters exist;
  * the rest from templates with random years, places (路/街道/小区/社区/村/镇 names), projects
    and topics (资金使用明细, 征收补偿方案, 规划许可, 环评报告, 行政处罚决定书 …), from
    applicants who mostly make 1-2 requests; 3 % of them with no applicant key (only a name
    known: core.personal_data.applicant_key gives None).

Then measures:

  1. fill_missing() over the first --fill-n requests (default all N; whole batches of 2,000),
     ms per request of each batch and requests/s overall; the rest fingerprinted in bulk, ANALYZE;
  2. store() of a new request (new=True, its signature computed before; its fingerprint and
     bands deleted first, the transaction rolled back after), and signature() alone;
  3. clusters() for all agencies and for agency [1] (groups found, the largest group's size and
     applicants), repeat_candidates() for a heavy applicant's latest request (how many found),
     applicants.month_count() / place_in_month(); one request's whole view as GET
     /requests/{id} reads it, for the heavy applicant's latest and a light applicant's;
  4. the plans of clusters()' statements, repeat_candidates()' and the view's (SQLite: EXPLAIN QUERY PLAN;
     PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)), and a cProfile of one clusters() call.

printing medians (and p95) in ms: medians, because another job may share the machine.

Run:
  .venv/bin/python benchmarks/similar.py [--n N] [--url URL]           # SQLite, a temporary file
  .venv/bin/python benchmarks/similar.py --n 100000 --fill-n 10000
  .venv/bin/python benchmarks/similar.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
On PostgreSQL a schema bench_similar_<hex> is created in that database, used through search_path,
and dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, text
from sqlmodel import select

import benchmarks.supervision as sup
from benchmarks.scratch_db import scratch_engine
from core.config import Settings
from core.db import session_scope, short_reads
from reports.request_view import request_view
from states import applicants, fingerprints, similarity
from states.presence import read_for_view
from states.models import Request, RequestFingerprint, SimilarityBand

TODAY = sup.TODAY

# ---------------------------------------------------------------- descriptions and applicants
_PLACE_CHARS = "东西南北中新和平安兴华光明人民建设解放胜利文化青年长江黄河湖滨花园金山银河红星朝阳幸福团结振兴友谊"
_PLACE_SUFFIXES = ("路", "路", "街道", "小区", "小区", "社区", "村", "镇")
PROJECTS = ("老旧小区改造项目", "棚户区改造项目", "道路拓宽工程", "污水处理厂建设项目", "地铁站点建设",
            "垃圾焚烧发电项目", "学校扩建工程", "农贸市场改造", "公园提升工程", "河道整治工程",
            "集体土地征收", "既有住宅加装电梯", "公共停车场建设项目", "养老服务中心项目", "菜市场搬迁")
TOPICS = ("资金使用明细", "征收补偿方案", "建设工程规划许可证及附图", "环境影响评价报告", "行政处罚决定书",
          "财政预算执行情况", "招标投标文件", "竣工验收报告", "国有土地使用权出让合同", "安置补偿协议",
          "专项资金审计报告", "建设用地规划许可证", "房屋安全鉴定报告", "消防验收意见", "政府采购合同",
          "社会救助发放名单", "专题会议纪要", "立项批复文件", "食品安全抽检结果", "施工许可证",
          "土地征收公告", "社会稳定风险评估报告", "补偿款发放明细", "信访事项处理意见")
PURPOSES = ("", "", "", "用于维护自身合法权益。", "用于学术研究。", "以便了解补偿标准。", "请邮寄纸质件。",
            "请以电子邮件方式提供。", "因涉及本人房屋。")
TEMPLATES = (
    "申请公开{year}年{place}{project}的{topic}。{purpose}",
    "您好，本人系{place}居民，申请公开{place}{project}{topic}，谢谢。{purpose}",
    "请公开贵单位{year}年度{topic}（涉及{place}{project}）。{purpose}",
    "依据《政府信息公开条例》，申请获取{place}{project}相关{topic}及其附件。{purpose}",
    "我想了解{year}年{place}{project}的{topic}，请提供复印件。",
    "申请公开〔{year}〕{num}号文件，即关于{place}{project}的{topic}。{purpose}",
    "{place}{project}在{year}年{month}月形成的{topic}，以及{topic2}。{purpose}",
    "本人房屋位于{place}{num}号，申请公开该片区{project}的{topic}。{purpose}",
)


def _place(rng: random.Random) -> str:
    return rng.choice(_PLACE_CHARS) + rng.choice(_PLACE_CHARS) + rng.choice(_PLACE_SUFFIXES)


def _subject(rng: random.Random) -> dict:
    return {"place": _place(rng), "project": rng.choice(PROJECTS), "topic": rng.choice(TOPICS),
            "year": rng.randint(2018, 2026), "num": rng.randint(1, 200)}


def _text(rng: random.Random, subject: dict) -> str:
    return rng.choice(TEMPLATES).format(**subject, purpose=rng.choice(PURPOSES),
                                        month=rng.randint(1, 12), topic2=rng.choice(TOPICS))


class Describer:
    """Each request's (description, applicant_key): see the module's docstring for the mix."""

    HEAVY, HEAVY_SHARE, POPULAR, POPULAR_SHARE, NO_KEY_SHARE = 6, 0.20, 12, 0.05, 0.03

    def __init__(self, seed: int = 11):
        self.rng = rng = random.Random(seed)
        self.popular = [_subject(rng) for _ in range(self.POPULAR)]
        self.heavy_subjects = {h: [_subject(rng) for _ in range(15)] for h in range(self.HEAVY)}
        self.light = 0          # light applicants created so far
        self.recent: list[int] = []

    def _light_applicant(self) -> str | None:
        if self.rng.random() < self.NO_KEY_SHARE:           # only a name known
            return None
        if self.recent and self.rng.random() < 0.3:       # their 2nd (rarely 3rd) request
            who = self.recent.pop(self.rng.randrange(len(self.recent)))
        else:
            self.light += 1
            who = self.light
            self.recent.append(who)
            if len(self.recent) > 2000:
                self.recent.pop(0)
        return f"light{who:07d}"

    def __call__(self) -> tuple[str, str | None]:
        rng, r = self.rng, self.rng.random()
        if r < self.HEAVY_SHARE:
            h = rng.randrange(self.HEAVY)
            pool = self.heavy_subjects[h]
            if rng.random() < 0.1:                         # a new subject now and then
                pool[rng.randrange(len(pool))] = _subject(rng)
            return _text(rng, rng.choice(pool)), f"heavy{h}"
        if r < self.HEAVY_SHARE + self.POPULAR_SHARE:
            return _text(rng, rng.choice(self.popular)), self._light_applicant()
        return _text(rng, _subject(rng)), self._light_applicant()


def install_generator() -> None:
    """Make supervision.seed write our descriptions and applicant keys."""
    base = sup.generate

    def generate(n, overdue_share, units, seed=7):
        describe = Describer()
        for row, consultation in base(n, overdue_share, units, seed):
            row["description"], row["applicant_key"] = describe()
            yield row, consultation

    sup.generate = generate
    if "applicant_key" not in sup.COLUMNS:
        sup.COLUMNS = (*sup.COLUMNS, "applicant_key")


# ---------------------------------------------------------------- helpers
def fig(times: list[float]) -> str:
    p50, p95 = sup.summary(times)
    return f"{p50:9.2f} {p95:9.2f}"


def analyze(engine: Engine) -> None:
    pg = engine.dialect.name == "postgresql"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for sql in ([f"VACUUM ANALYZE {t}" for t in ("request", "request_fingerprint", "similarity_band")]
                    if pg else ["ANALYZE"]):
            conn.exec_driver_sql(sql)


class _Stop(Exception):
    """Ends fill_missing() after --fill-n requests."""


def fill(engine: Engine, limit: int) -> tuple[int, float, list[float]]:
    """fill_missing() until `limit` requests are done: (requests, seconds, s per request of each
    batch)."""
    per_request: list[float] = []
    done = 0
    t0 = last = time.perf_counter()
    with sup._progress() as bar:
        task = bar.add_task("fill_missing()", total=limit)

        def progress(k: int) -> None:
            nonlocal done, last
            now = time.perf_counter()
            per_request.append((now - last) / k)
            done, last = done + k, now
            bar.update(task, completed=min(done, limit))
            if done >= limit:
                raise _Stop

        with session_scope(engine) as session:
            try:
                fingerprints.fill_missing(session, progress=progress)
            except _Stop:
                pass
    return done, time.perf_counter() - t0, per_request


def bulk_fill(engine: Engine) -> int:
    """Fingerprint the requests still without one the fast way (COPY / executemany): seeding."""
    with session_scope(engine) as s:
        todo = s.execute(text("SELECT r.id, r.description FROM request r LEFT JOIN request_fingerprint f "
                              "ON f.request_id = r.id WHERE f.request_id IS NULL ORDER BY r.id")).all()
    for i in range(0, len(todo), 20_000):
        fps, bands = [], []
        for rid, description in todo[i:i + 20_000]:
            sig = similarity.signature(description)
            fps.append((rid, sig, similarity.VERSION))
            bands.extend((k, rid) for k in sorted(set(similarity.band_keys(sig))))
        tables = (("request_fingerprint (request_id, signature, version)", fps, "?, ?, ?"),
                  ("similarity_band (key, request_id)", bands, "?, ?"))
        if engine.dialect.name == "postgresql":
            raw = engine.raw_connection()
            try:
                with raw.driver_connection.cursor() as cur:
                    for table, values, _ in tables:
                        with cur.copy(f"COPY {table} FROM STDIN") as copy:
                            for r in values:
                                copy.write_row(r)
                raw.commit()
            finally:
                raw.close()
        else:
            with engine.begin() as conn:
                for table, values, marks in tables:
                    conn.exec_driver_sql(f"INSERT INTO {table} VALUES ({marks})", values)
    return len(todo)


def explain(engine: Engine, title: str, statements: list[tuple[str, object]]) -> None:
    print(f"\n  == {title}")
    for statement, params in statements:
        shown, ps = " ".join(statement.split()), repr(params)
        print(f"\n--- {shown[:600]}{' …' if len(shown) > 600 else ''}\n    params "
              f"{ps[:160]}{' …' if len(ps) > 160 else ''}")
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params):
                    print(f"    {row[0]:>3} {row[1]:>3}  {row[3]}")
            else:
                for (line,) in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params):
                    print("    " + line)
                conn.rollback()


def _in_session(engine: Engine, fn):
    with session_scope(engine) as s:
        return fn(s)


# ---------------------------------------------------------------- the measurements
def run(engine: Engine, args) -> None:
    install_generator()
    t = time.perf_counter()
    seeded = sup.seed(engine, args.n, 50_000, 0.06, use_copy=engine.dialect.name == "postgresql")
    print(f"{engine.dialect.name}: seeded {seeded['requests']:,} requests in "
          f"{time.perf_counter() - t:.1f} s")
    rows: list[tuple[str, str]] = []

    fill_n = min(args.fill_n or args.n, args.n)
    done, seconds, per_request = fill(engine, fill_n)
    rows.append((f"fill_missing(): {done:,} req, {done / seconds:,.0f} req/s; ms/req per batch",
                 fig(per_request)))
    t = time.perf_counter()
    rest = bulk_fill(engine)
    analyze(engine)
    with session_scope(engine) as s:
        bands = s.execute(text("SELECT count(*) FROM similarity_band")).scalar()
        heavy = s.exec(select(Request).where(Request.applicant_key == "heavy0", Request.agency_id == 1)
                       .order_by(Request.received_on.desc(), Request.id.desc()).limit(1)).one()
        sample = s.exec(select(Request).where(Request.id % 997 == 3).limit(args.store_calls)).all()
    print(f"  the other {rest:,} fingerprinted in bulk (not measured) and ANALYZE in "
          f"{time.perf_counter() - t:.1f} s; {bands:,} band rows")

    def call(fn, bind: Engine = engine):  # a fresh session per call, as in the API
        return lambda: _in_session(bind, fn)

    store_times, sig_times = [], []
    for row in sample:
        with session_scope(engine) as s:
            s.execute(SimilarityBand.__table__.delete().where(SimilarityBand.request_id == row.id))
            s.execute(RequestFingerprint.__table__.delete().where(RequestFingerprint.request_id == row.id))
            s.flush()
            sig = similarity.signature(row.description)
            t = time.perf_counter()
            fingerprints.store(s, row, sig, new=True)
            s.flush()
            store_times.append(time.perf_counter() - t)
            s.rollback()
        t = time.perf_counter()
        similarity.signature(row.description)
        sig_times.append(time.perf_counter() - t)
    rows.append((f"store(new=True), signature given ({len(store_times)} calls)", fig(store_times)))
    rows.append(("signature() alone", fig(sig_times)))

    for ids, name in ((None, "all agencies"), ([1], "agency [1]")):
        fn = call(lambda s, ids=ids: fingerprints.clusters(s, agency_ids=ids, today=TODAY))
        c = fn()  # also the warm-up
        big = max(c, key=lambda g: g["size"], default={"size": 0, "applicants": 0})
        label = f"clusters() {name}: {len(c)} groups, largest {big['size']} req / {big['applicants']} appl."
        rows.append((label, fig(sup.measure(fn, args.cluster_calls, warmup=0))))
    rc = call(lambda s: fingerprints.repeat_candidates(s, heavy))
    rows.append((f"repeat_candidates() heavy applicant's latest ({len(rc())} found)",
                 fig(sup.measure(rc, args.calls))))
    rows.append(("applicants.month_count() heavy applicant",
                 fig(sup.measure(call(lambda s: applicants.month_count(s, heavy)), args.calls))))
    rows.append(("applicants.place_in_month() heavy applicant",
                 fig(sup.measure(call(lambda s: applicants.place_in_month(s, heavy)), args.calls))))
    # One request's whole view as GET /requests/{id} reads it (issue 17: ≤ 1.5 ms), where the
    # bands are there: its one statement asks whether any earlier request could repeat it.
    settings = Settings(today_override=TODAY, database_url=str(engine.url), log_level="WARNING")
    with session_scope(engine) as s:
        light = s.execute(text("SELECT max(id) FROM request WHERE applicant_key LIKE 'light%'")).scalar()
    reader = short_reads(engine)  # as GET reads (on PostgreSQL autocommit: no BEGIN, no ROLLBACK)
    for label, rid in (("heavy applicant's latest", heavy.id), ("a light applicant's latest", light)):
        view = call(lambda s, rid=rid: request_view(s, read_for_view(s, rid), settings), reader)
        rows.append((f"request_view(read_for_view()) {label} ({len(view()['similar_requests'])} similar)",
                     fig(sup.measure(view, args.calls))))

    capture, prof = sup.Capture(engine), cProfile.Profile()  # one clusters() call, profiled
    stmts = capture.of(call(lambda s: prof.runcall(fingerprints.clusters, s, agency_ids=None, today=TODAY)))
    print("\n  cProfile of one clusters() call, all agencies (by own time):")
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    explain(engine, "clusters(), all agencies: members, candidates' signatures, published, examples", stmts)
    explain(engine, "clusters(), agency [1]: the members statement",
            capture.of(call(lambda s: fingerprints.clusters(s, agency_ids=[1], today=TODAY)))[:1])
    explain(engine, "repeat_candidates(): the banded earlier-requests statement",
            [st for st in capture.of(rc) if "IN (SELECT" in st[0].upper()])
    explain(engine, "read_for_view(): one request's view in one statement (heavy applicant's latest)",
            capture.of(call(lambda s: read_for_view(s, heavy.id)))[:1])

    print(f"\n{engine.dialect.name}, {args.n:,} requests, {bands:,} band rows "
          "(ms, median and p95; another job may share the 2 cores)")
    print(f"{'measurement':<72} {'median':>9} {'p95':>9}")
    for name, figures in rows:
        print(f"{name:<72} {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="requests to seed")
    parser.add_argument("--url", default=None,
                        help="PostgreSQL URL (a schema is created in it); default SQLite temp file")
    parser.add_argument("--fill-n", type=int, default=None,
                        help="measure fill_missing() on this many requests only, then fingerprint "
                        "the rest in bulk (fast); default all N")
    parser.add_argument("--calls", type=int, default=50, help="calls of the per-request queries")
    parser.add_argument("--store-calls", type=int, default=50, help="store() calls")
    parser.add_argument("--cluster-calls", type=int, default=5, help="calls of clusters()")
    args = parser.parse_args()
    with scratch_engine(args.url, "bench_similar") as engine:
        run(engine, args)

if __name__ == "__main__":
    main()
