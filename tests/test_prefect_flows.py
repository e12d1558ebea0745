"""The automatic life of requests, run by the real Prefect flows on a Prefect test server
(started once per test session): lapses closed through the one door, the clock resumed,
side effects exactly once despite failures and dead dispatchers, a day's sweep idempotent."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

import workflows.flows as flows
from replies import formats
from tests.conftest import allow_deciding, authenticate, fire, new_request, refuse_deciding, serve


@pytest.fixture(scope="session")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness
    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def on_engine(prefect_server, engine, settings):
    flows.use(engine, settings)
    yield settings
    flows.use(None, None)


def run(flow, **params):
    return asyncio.run(flow(**params))


async def _runs_tagged(tag: str, since: dt.datetime) -> list[tuple[str, str]]:
    """Flow runs with `tag` started since `since` (the server is shared by the whole session,
    and every test database numbers its requests from 2026-000001)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterStartTime,
                                                FlowRunFilterTags)
    from prefect.client.schemas.sorting import FlowRunSort
    async with get_client() as client:
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[tag]), start_time=FlowRunFilterStartTime(after_=since)),
            sort=FlowRunSort.NAME_ASC, limit=200)
    return sorted((r.name, r.state_type.value) for r in runs)


async def _lapse_events(number: str, since: dt.datetime, expect: int = 1) -> list[dict]:
    """The sweep's events about request `number` since `since` — what the Prefect UI's event feed
    shows for resource gongkai.request.<number> — each with the task run it happened in and that
    run's final state. Prefect stores events and task runs from what the flow's process sends, a
    moment after the flow returns: wait (up to 20 s) for `expect` of them."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventOccurredFilter, EventResourceFilter
    found: list[dict] = []
    async with get_client() as client:
        for _ in range(80):
            page = await client.read_events(filter=EventFilter(
                occurred=EventOccurredFilter(since=since),
                resource=EventResourceFilter(id=[f"gongkai.request.{number}"])), limit=50)
            found = []
            for event in page.events:
                run = next(r for r in event.related if r.role == "task-run")
                task_run = await client.read_task_run(run.id.removeprefix("prefect.task-run."))
                found.append({"event": event.event, "tags": [r.id for r in event.related if r.role == "tag"],
                              "task_run": task_run, "state": task_run.state_type.value
                              if task_run.state_type else None})
            if len(found) >= expect and all(f["state"] in ("COMPLETED", "FAILED") for f in found):
                break
            await asyncio.sleep(0.25)
    return sorted(found, key=lambda f: f["event"])


async def _tables_of(task_run_id) -> list[list[dict]]:
    """The table artifacts a task run left."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterTaskRunId
    async with get_client() as client:
        artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(
            task_run_id=ArtifactFilterTaskRunId(any_=[task_run_id])))
    return [json.loads(a.data) if isinstance(a.data, str) else a.data
            for a in artifacts if a.type == "table"]


def _history(client, rid) -> list[dict]:
    return client.get(f"/api/v1/requests/{rid}/history").json()["events"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_a_lapsed_supplement_closes_the_request_as_system_sweep_deadlines(client, on_engine):
    since = _now()
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "request_supplement", "2026-03-03", items=["请明确所需信息的年份"])
    serve(client, rid, "supplement_notice", "2026-03-03")
    assert run(flows.sweep_deadlines, today=dt.date(2026, 3, 24))["closed"]["no_supplement"] == []
    summary = run(flows.sweep_deadlines, today=dt.date(2026, 3, 25))
    assert summary["closed"]["no_supplement"] == ["2026-000001"]
    last = _history(client, rid)[-1]
    assert (last["actor"], last["event"], last["on"]) == ("system:sweep_deadlines", "decide", "2026-03-25")
    assert last["data"]["outcome"] == "other_no_supplement"
    assert client.get(f"/api/v1/requests/{rid}").json()["state"] == "decided"
    # The Prefect UI shows the request's automatic work under its number: an event about it,
    # from a task run of the sweep's run that left the table of what became of it.
    [closing] = asyncio.run(_lapse_events("2026-000001", since))
    assert (closing["event"], closing["state"]) == ("gongkai.lapse.closed", "COMPLETED")
    assert closing["task_run"].name == "no_supplement · 2026-000001"
    assert "prefect.tag.request:2026-000001" in closing["tags"]
    assert asyncio.run(_tables_of(closing["task_run"].id)) == [[
        {"request": "2026-000001", "event": "decide", "on": "2026-03-25", "outcome": "closed",
         "problem": ""}]]


def test_a_lapsed_agency_consultation_resumes_the_clock(client, on_engine):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    fire(client, rid, "open_consultation", "2026-03-03", party="agency", name="西湖区财政局")
    serve(client, rid, "consultation_agency", "2026-03-03", method="email")
    summary = run(flows.sweep_deadlines, today=dt.date(2026, 3, 25))
    assert summary["closed"]["consultation"] == ["2026-000001"]
    r = client.get(f"/api/v1/requests/{rid}").json()
    assert r["state"] == "reviewing" and r["clock"]["stopped"] is False
    consultation = r["consultations"][0]
    assert (consultation["closed_on"], consultation["opinion"]) == ("2026-03-24", "no_reply")
    assert consultation["note"] == "逾期未提出意见，视为同意公开（条例第三十四条）"
    assert r["due_on"] == "2026-04-21"  # 30 Mar + the 15 working days held, skipping 清明
    last = _history(client, rid)[-1]
    assert (last["actor"], last["event"]) == ("system:sweep_deadlines", "close_consultation")


def test_an_outbox_effect_that_fails_twice_then_succeeds_happens_exactly_once(
        client, engine, on_engine, monkeypatch):
    on_engine.outbox_backoff_seconds = 0
    since = _now()
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")  # issues the 登记回执: render_letter queued
    real_pdf, calls = formats.to_pdf, []

    def flaky_pdf(html):
        calls.append(1)
        if len(calls) <= 2:
            raise OSError("font cache unavailable (injected)")
        return real_pdf(html)

    monkeypatch.setattr(formats, "to_pdf", flaky_pdf)
    outcomes = [run(flows.dispatch_outbox) for _ in range(4)]
    assert [sorted(k for k, v in o.items() if v) for o in outcomes] == [
        ["retried"], ["retried"], ["done"], []]
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, attempts, last_error FROM outbox")).one()
        files = conn.execute(text("SELECT format FROM letter_file ORDER BY format")).scalars().all()
    assert tuple(row) == ("done", 3, None)
    assert files == ["docx", "html", "pdf"] and len(calls) == 3
    rendered = [e for e in _history(client, rid) if e["event"] == "render_letter"]
    assert len(rendered) == 1 and rendered[0]["actor"] == "system:dispatch_outbox"
    assert asyncio.run(_runs_tagged("request:2026-000001", since)) == [
        ("render_letter · 2026-000001", "COMPLETED")] * 3


def test_a_poisoned_row_is_parked_with_its_error_and_the_rest_go_on(client, engine, on_engine,
                                                                    monkeypatch):
    on_engine.outbox_backoff_seconds, on_engine.outbox_max_attempts = 0, 2
    first = new_request(client, received_on="2026-03-02")["id"]
    fire(client, first, "register", "2026-03-02")
    second = new_request(client, received_on="2026-03-02")["id"]
    fire(client, second, "register", "2026-03-02")
    real_pdf = formats.to_pdf
    monkeypatch.setattr(formats, "to_pdf", lambda html: (_ for _ in ()).throw(ValueError("bad glyph"))
                        if "2026-000001" in html else real_pdf(html))
    run(flows.dispatch_outbox)
    run(flows.dispatch_outbox)
    authenticate(client, "li.na", "supervisor")  # the outbox is a supervisor's
    parked = client.get("/api/v1/outbox", params={"status": "parked"}).json()["items"]
    assert [(p["request_number"], p["kind"], p["attempts"], p["last_error"]) for p in parked] == [
        ("2026-000001", "render_letter", 2, "ValueError: bad glyph")]
    done = client.get("/api/v1/outbox", params={"status": "done"}).json()["items"]
    assert [p["request_number"] for p in done] == ["2026-000002"]
    monkeypatch.setattr(formats, "to_pdf", real_pdf)  # fixed: a supervisor puts it back
    requeued = client.post(f"/api/v1/outbox/{parked[0]['id']}/retry")
    assert requeued.status_code == 200 and requeued.json()["status"] == "pending"
    assert run(flows.dispatch_outbox)["done"] == [parked[0]["id"]]


_CLAIM_AND_HANG = """
import sys, time
from core.db import make_engine
from workflows.outbox import claim
claimed = claim(make_engine(sys.argv[1]), "doomed-dispatcher", lease_seconds=2)
print(len(claimed), flush=True)
time.sleep(600)
"""


def test_a_killed_dispatcher_leaves_its_claimed_rows_to_be_picked_up_again(client, db, on_engine):
    engine, url, _ = db
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    doomed = subprocess.Popen([sys.executable, "-c", _CLAIM_AND_HANG, url], stdout=subprocess.PIPE,
                              text=True)
    assert doomed.stdout.readline().strip() == "1"
    doomed.kill()
    doomed.wait()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status, claimed_by FROM outbox")).one() == (
            "claimed", "doomed-dispatcher")
    assert run(flows.dispatch_outbox)["done"] == []  # its lease has not run out yet
    time.sleep(2.1)
    assert len(run(flows.dispatch_outbox)["done"]) == 1
    with engine.connect() as conn:
        assert tuple(conn.execute(text("SELECT status, attempts FROM outbox")).one()) == ("done", 2)


def test_the_same_sweep_run_twice_for_a_day_changes_nothing_the_second_time(client, on_engine):
    lapsed = new_request(client, received_on="2026-03-02")["id"]
    fire(client, lapsed, "register", "2026-03-02")
    fire(client, lapsed, "request_supplement", "2026-03-03", items=["请明确年份"])
    serve(client, lapsed, "supplement_notice", "2026-03-03")
    soon = new_request(client, received_on="2026-03-02", assignee="王芳")["id"]
    fire(client, soon, "register", "2026-03-02")
    late = new_request(client, received_on="2026-02-02", assignee="王芳")["id"]
    fire(client, late, "register", "2026-02-02")
    first = run(flows.sweep_deadlines, today=dt.date(2026, 3, 25))
    assert first["closed"]["no_supplement"] == ["2026-000001"]
    assert (first["due_soon"], first["overdue"]) == (["2026-000002"], ["2026-000003"])
    assert len(first["digests"]) == 2  # 住建局, 王芳
    counts = [len(_history(client, r)) for r in (lapsed, soon, late)]
    second = run(flows.sweep_deadlines, today=dt.date(2026, 3, 25))
    assert second["closed"] == {"no_supplement": [], "consultation": [], "fee_unpaid": []}
    assert (second["due_soon"], second["overdue"], second["cleared"], second["digests"]) == ([], [], [], [])
    assert [len(_history(client, r)) for r in (lapsed, soon, late)] == counts
    flagged = _history(client, late)[-1]
    assert (flagged["event"], flagged["actor"], flagged["data"]["flag"]) == (
        "flag_deadline", "system:sweep_deadlines", "overdue")
    assert client.get(f"/api/v1/requests/{late}").json()["deadline_flag"] == "overdue"


def test_prefect_log_lines_are_structlog_json(prefect_server):
    import logging
    handlers = [h for h in logging.getLogger().handlers if h.formatter is not None]
    record = logging.getLogger("prefect.flow_runs").makeRecord(
        "prefect.flow_runs", logging.INFO, __file__, 1, "Finished in state %s", ("Completed()",),
        None, extra={"flow_run_name": "render_letter · 2026-000001"})
    line = json.loads(handlers[0].format(record))
    assert line["event"] == "Finished in state Completed()"
    assert (line["logger"], line["level"]) == ("prefect.flow_runs", "info")
    assert line["flow_run_name"] == "render_letter · 2026-000001"


def test_the_daily_checkpoint_flow_signs_the_whole_log_and_writes_it_outside_the_database(
        client, on_engine, settings):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    summary = run(flows.checkpoint_audit)
    assert (summary["number"], summary["tree_size"], summary["added"]) == (1, 3, 3)
    assert summary["file"] == str(settings.data_dir / "checkpoints" / "checkpoint-000001.json")
    fire(client, rid, "review", "2026-03-03")
    assert (run(flows.checkpoint_audit)["number"], run(flows.checkpoint_audit)["added"]) == (2, 0)


def _lapsed_supplement(client) -> int:
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "request_supplement", "2026-03-03", items=["请明确所需信息的年份"])
    serve(client, rid, "supplement_notice", "2026-03-03")
    return rid


def test_a_days_lapses_close_in_one_task_run_that_names_each_request_and_one_refused_fails_alone(
        client, engine, on_engine):
    """Lapses are closed a batch per task run, not a sub-flow each (~220 ms apiece): each request
    gets an event under its number, and the batch's run leaves a table of each one's outcome. A
    request the database refuses fails its batch's task run and, at its end, the sweep's run —
    after every other lapse is closed and every flag and digest is done."""
    since = _now()
    ids = [_lapsed_supplement(client) for _ in range(3)]
    refuse_deciding(engine, ids[1])  # the database will refuse to mark the second one decided
    late = new_request(client, received_on="2026-02-02")["id"]
    fire(client, late, "register", "2026-02-02")
    with pytest.raises(RuntimeError, match="1 lapses could not be closed: 2026-000002"):
        run(flows.sweep_deadlines, today=dt.date(2026, 3, 25))
    assert [client.get(f"/api/v1/requests/{r}").json()["state"] for r in ids] == [
        "decided", "awaiting_supplement", "decided"]
    assert client.get(f"/api/v1/requests/{late}").json()["deadline_flag"] == "overdue"
    events = {n: asyncio.run(_lapse_events(n, since)) for n in ("2026-000001", "2026-000002", "2026-000003")}
    assert {n: [e["event"] for e in found] for n, found in events.items()} == {
        "2026-000001": ["gongkai.lapse.closed"], "2026-000002": ["gongkai.lapse.failed"],
        "2026-000003": ["gongkai.lapse.closed"]}
    batch = events["2026-000002"][0]["task_run"]  # one task run closed all three
    assert {e[0]["task_run"].id for e in events.values()} == {batch.id}
    assert batch.name == "no_supplement · 2026-000001 +2" and batch.state_type.value == "FAILED"
    [table] = asyncio.run(_tables_of(batch.id))
    assert [(row["request"], row["outcome"]) for row in table] == [
        ("2026-000001", "closed"), ("2026-000002", "failed"), ("2026-000003", "closed")]
    assert "refused_by_test" in table[1]["problem"] and "李明" not in table[1]["problem"]
    # The next night the database no longer refuses: the request is closed then.
    allow_deciding(engine)
    summary = run(flows.sweep_deadlines, today=dt.date(2026, 3, 26))
    assert summary["closed"]["no_supplement"] == ["2026-000002"] and summary["failed"] == {}
