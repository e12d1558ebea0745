"""The `gongkai` command line (Typer): the top room, beside `api`, that may use every room below.

Heavy rooms (Prefect, the API) are imported inside the commands that need them, so
`gongkai --help` and the quick commands start fast.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import typer

from cli.access import access_app, agencies_app, tokens_app, users_app
from cli.audit_commands import audit_app
from core.logging import mask_text
from workflows.hints import DEPLOYMENT, run_now_hint  # light: no Prefect

app = typer.Typer(help="Gongkai (公开): 依申请公开 workflow engine.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
calendar_app = typer.Typer(help="Working-day calendars (国务院节假日安排).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(calendar_app, name="calendar")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(agencies_app, name="agencies")
app.add_typer(access_app, name="access")


@calendar_app.command("import")
def calendar_import(file: str, by: str = typer.Option(..., help="who imports it, e.g. staff:li.na"),
                    show: int = typer.Option(50, help="how many changed requests to list")) -> None:
    """Import a year's State Council holiday notice (JSON), replacing its provisional calendar,
    and recompute every open request; list the requests whose dates changed."""
    from rich.progress import Progress

    from core.config import get_settings
    from core.db import get_engine, session_scope
    from states.workdays import YearFileError
    from states.calendar_years import recompute_open_clocks, store_year

    try:
        with open(file, encoding="utf-8") as fh:
            doc = json.load(fh)
        if not isinstance(doc, dict):
            raise ValueError("the file must hold one JSON object: {year, source, holidays, makeup_workdays}")
        with session_scope() as session:
            spec = store_year(session, doc, by)
            session.commit()  # the year, then the recompute in batches of its own
    except (OSError, ValueError, YearFileError) as exc:
        typer.echo(f"not imported: {exc}", err=True)
        raise typer.Exit(2) from None
    with Progress(transient=True) as bar:
        task = bar.add_task("recomputing open requests", total=None)
        result = recompute_open_clocks(
            get_engine(), actor=by, on=get_settings().today(),
            reason=f"{spec.year}年节假日安排已加载：{doc['source']}",
            progress=lambda n: bar.advance(task, n), data={"calendar_year": spec.year})
    for change in result["changes"][:show]:
        moved = [f"答复期限 {change['old_due_on'] or '—'} → {change['new_due_on'] or '—'}"
                 if change["old_due_on"] != change["new_due_on"] else ""]
        moved += [f"{name} {old or '—'} → {new or '—'}"
                  for name, (old, new) in change.get("changed", {}).items()]
        typer.echo(f"{change['number']}  " + "；".join(m for m in moved if m))
    if len(result["changes"]) > show:
        typer.echo(f"… and {len(result['changes']) - show} more: GET /api/v1/calendar/changes?year={spec.year}")
    typer.echo(f"{spec.year} loaded; {result['checked']} open requests checked, "
               f"{result['changed']} changed")


# The name of earlier releases, kept so existing scripts go on working.
calendar_app.command("load", hidden=True)(calendar_import)


agency_app = typer.Typer(help="Whether letters can be issued.", no_args_is_help=True)
app.add_typer(agency_app, name="agency")


@agency_app.command("check")
def agency_check() -> None:
    """Say whether letters can be issued: for every agency, the fields a letter needs that are
    still placeholders (exit 1 if any). A one-agency deployment fills them with GONGKAI_AGENCY__*
    (which only fill placeholders) or `gongkai agencies set CODE FIELD=VALUE`."""
    from access import agencies
    from core.config import Agency, get_settings

    from cli.access import run_in_session

    settings = get_settings()
    rows = run_in_session(lambda session: [(a.code, a.name, agencies.missing(a), a.contact_person,
                                  a.electronic_seal) for a in agencies.list_agencies(session)])
    incomplete = 0
    for code, name, missing, contact, seal in rows:
        typer.echo(f"{code:16} {name}")
        typer.echo(f"  {'contact_person':16} {contact or '（未配置：以经办人为联系人）'}")
        typer.echo(f"  {'electronic_seal':16} {seal or '（未配置：答复书当面送达或邮寄，不以电子邮件发送）'}")
        if missing:
            incomplete += 1
            envs = [Agency.REQUIRED[f] for f in missing]
            typer.echo(f"  missing: {', '.join(missing)} (gongkai agencies set {code} FIELD=VALUE; "
                       f"for the bootstrap agency also {', '.join(envs)})", err=True)
    if incomplete:
        mode = "demo mode: letters are issued marked 演示文书" if settings.demo_mode else \
            "their letters are refused until they are set"
        typer.echo(f"{incomplete} agencies incomplete ({mode})", err=True)
        raise typer.Exit(1)
    typer.echo("every agency is configured: letters can be issued")


@app.command()
def demo(year: int = typer.Option(..., help="the calendar year to fill"),
         profile: str | None = typer.Option(None, help="linhai-2020: 临海市's published 2020 figures"),
         count: int = typer.Option(248, min=10, max=100_000, help="requests, without a profile"),
         seed: int = typer.Option(2020)) -> None:
    """Put a realistic year of requests through the one door (letters marked 演示文书), in an
    agency of its own, so the lists and the annual report have something to show."""
    from rich.progress import Progress

    from cli.demo import PROFILES, generate_year, scaled
    from core.config import get_settings
    from core.db import get_engine
    from core.migrate import upgrade

    if profile is not None and profile not in PROFILES:
        typer.echo(f"unknown profile {profile!r}; profiles: {', '.join(PROFILES)}", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    first, last = settings.earliest_received_on.year + 1, settings.today().year - 1
    if not first <= year <= last:
        # A whole past year: its days lie after the earliest receipt date and before today.
        typer.echo(f"--year: a finished year from {first} to {last}", err=True)
        raise typer.Exit(2)
    chosen = PROFILES[profile] if profile else scaled(count)
    upgrade()
    with Progress() as bar:
        task = bar.add_task(f"{year} requests", total=sum(chosen.kinds.values()))
        made = generate_year(get_engine(), settings, year, chosen, seed=seed,
                             progress=lambda n: bar.advance(task, n))
    typer.echo(f"{made['received']} requests received in {year} by agency {made['agency']}: "
               f"{made['decided']} decided, {made['open']} still open at the year's end. "
               f"Report: GET /api/v1/reports/annual?year={year}&agency={made['agency']}")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate every table, index and audit guard."""
    from core.config import get_settings
    from core.migrate import upgrade

    upgrade(revision=revision)
    typer.echo(f"database at {get_settings().effective_database_url} is at {revision}")


@db_app.command("grant-app-role")
def db_grant_app_role(role: str, schema: str = typer.Option("public", help="the schema migrated")) -> None:
    """PostgreSQL, as the owner that ran `db upgrade`: let ROLE (an existing login role) run the
    service — read and write its tables, but only read and add to the append-only ones (history,
    letters as sent, service records). Run it again after each upgrade (new tables)."""
    from sqlalchemy import text

    from audit.guards import app_role_grants
    from core.db import get_engine

    engine = get_engine()
    if engine.dialect.name != "postgresql":
        typer.echo("grant-app-role is for PostgreSQL; SQLite has no roles (its triggers guard the history)")
        raise typer.Exit(2)
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        for statement in app_role_grants(role, schema, quote):
            conn.execute(text(statement))
    typer.echo(f"role {role} may run the service on schema {schema}; history is append-only to it")


requests_app = typer.Typer(help="Requests' derived data.", no_args_is_help=True)
app.add_typer(requests_app, name="requests")


@requests_app.command("fingerprint")
def requests_fingerprint() -> None:
    """Fingerprint every request that has none (made before 0013) or a stale one, so repeats and
    clusters of similar requests find it; resumable, a transaction per batch."""
    from rich.progress import Progress

    from core.db import session_scope
    from states import fingerprints

    with session_scope() as session:
        todo = fingerprints.missing_count(session)
        with Progress() as bar:
            task = bar.add_task("fingerprinting requests", total=todo)
            done = fingerprints.fill_missing(session, progress=lambda n: bar.advance(task, n))
    typer.echo(f"{done} requests fingerprinted")


def _chain_problems(engine) -> list[str]:
    """Every broken chain (by request number) and a broken access log, as restore reports them."""
    from audit import verify_access
    from cli.verify import verify_database
    from core.db import session_scope

    _tally, broken = verify_database(engine)
    problems = [f"{name}: broken at event {b.first_broken_seq}: {b.reason}" for name, b in broken]
    with session_scope(engine) as session:
        access = verify_access(session)
    if not access.ok:
        problems.append(f"access log: broken at event {access.first_broken_seq}: {access.reason}")
    return problems


@app.command()
def backup(folder: Path = typer.Argument(..., help="a new, empty folder")) -> None:
    """Take a consistent copy while the service runs: a fresh checkpoint first, then the database
    (SQLite's online backup API; PostgreSQL: pg_dump), the archived letters, every checkpoint
    file and the public key, with a manifest of SHA-256s. `gongkai restore` puts it back."""
    from audit.checkpoint import CheckpointError
    from cli.backup import BackupError, backup as take_backup
    from core.config import get_settings
    from core.db import get_engine
    from workflows.checkpoints import take_checkpoint

    settings, engine, refused = get_settings(), get_engine(), []

    def anchor():
        try:
            taken = take_checkpoint(engine, settings)
            if taken["key_made"]:
                typer.echo(f"made the checkpoint signing key {taken['key_made']}: keep it where "
                           "the database's administrators cannot write, publish its public key")
            return taken
        except CheckpointError as exc:  # back up all the same: the copy is the evidence
            refused.append(str(exc))
            return None
    try:
        manifest = take_backup(engine, settings, folder, take_checkpoint=anchor)
    except BackupError as exc:
        typer.echo(f"no backup: {exc}", err=True)
        raise typer.Exit(2) from None
    size = sum((folder / name).stat().st_size for name in manifest["files"])
    typer.echo(f"{folder}: {len(manifest['files'])} files, {size / 1e6:.1f} MB; database "
               f"{manifest['database']}, checkpoint {manifest['checkpoint'] or 'none'}")
    if refused:
        typer.echo(f"no new checkpoint was signed, so this copy is anchored only by older ones: "
                   f"{refused[0]} (`gongkai audit verify` names them)", err=True)
        raise typer.Exit(1)


@app.command()
def restore(folder: Path = typer.Argument(..., help="a folder `gongkai backup` wrote"),
            replace: bool = typer.Option(False, "--replace", help="keep the current database "
                                         "aside (gongkai.db.before-restore-…) and restore over it"),
            public_key: str | None = typer.Option(None, "--public-key", metavar="HEX", help="the "
                                                   "agency's published checkpoint key; default: "
                                                   "this deployment's, else the backup's own")) -> None:
    """Put a SQLite backup back, only if it verifies: manifest hashes, every chain, the access
    log, the latest checkpoint under the trusted key, the archived letters; exit 1 and nothing
    changed otherwise. Then `gongkai db upgrade` if the backup is of an earlier release."""
    from cli.audit_commands import _trusted_key
    from cli.backup import BackupError, restore as put_back
    from core.config import get_settings

    trusted = _trusted_key(public_key)
    if trusted is None and (folder / "public-key.txt").exists():
        trusted = (folder / "public-key.txt").read_text().strip()
        typer.echo(f"trusting the backup's own key {trusted[:16]}…: pass --public-key to pin the "
                   "agency's published one", err=True)
    try:
        done = put_back(folder, get_settings(), trusted, replace=replace, verify_chains=_chain_problems)
    except BackupError as exc:
        typer.echo(f"not restored: {exc}", err=True)
        raise typer.Exit(1) from None
    kept = f"; the database it replaced is kept as {done['kept']}" if done["kept"] else ""
    typer.echo(f"restored the backup of {done['taken_at']} to {done['database']}, verified against "
               f"{done['checkpoint']}{kept}")


@app.command()
def diagram() -> None:
    """Print the request state machine as a mermaid diagram (as in the README)."""
    from statemachine.contrib.diagram.formatter import formatter

    from states.machine import RequestMachine

    typer.echo(formatter.render(RequestMachine, "mermaid"))


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Migrate the database, then serve the API (embedded default: SQLite under ./data)."""
    import os
    import sys

    import uvicorn

    from core.logging import UVICORN_LOGGING_CONFIG
    from core.migrate import upgrade

    from core.config import get_settings

    upgrade()
    settings = get_settings()
    welcome, incomplete = _prepare_access(settings)
    typer.echo(f"Gongkai API on http://{host}:{port}/api/v1  (docs: http://{host}:{port}/docs)")
    _say_access(welcome, incomplete, settings, f"http://{host}:{port}", os.path.dirname(sys.executable))
    uvicorn.run("api.app:app", host=host, port=port, log_config=str(UVICORN_LOGGING_CONFIG))


# Where `gongkai run` serves Prefect when PREFECT_API_URL names no other server.
LOCAL_PREFECT_API = "http://127.0.0.1:4200/api"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_today(value: str | None) -> dt.date | None:
    if value is None:
        return None
    if not _DATE.fullmatch(value):
        raise typer.BadParameter(f"{value!r} is not a date: expected YYYY-MM-DD, e.g. 2026-03-25")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date: {exc}") from None


_PREFECT_URL = typer.Option(
    None, "--prefect-api-url", envvar="PREFECT_API_URL", show_default=False,
    help=f"the Prefect server to run the deployment on (default: $PREFECT_API_URL, else "
         f"{LOCAL_PREFECT_API}, the one `gongkai run` starts)")
_IN_PROCESS = typer.Option(False, "--in-process", help="run the flow in this process even when a "
                           "Prefect server answers (the run is then recorded on it)")
_TIMEOUT = typer.Option(600.0, help="seconds to wait for the deployment's run to finish")


@app.command()
def sweep(today: str | None = typer.Option(None, "--today", metavar="YYYY-MM-DD",
                                           callback=_parse_today, show_default=False,
                                           help="the day to sweep (replay a missed day); "
                                                "default: the agency's today"),
          prefect_api_url: str | None = _PREFECT_URL, in_process: bool = _IN_PROCESS,
          timeout: float = _TIMEOUT) -> None:
    """Run the daily deadline sweep now (or for a missed day).

    Closes lapsed periods, flags due-soon and overdue requests, builds and mails the digests:
    the deployment sweep_deadlines on the Prefect server when one answers, else in this process."""
    _run_now("sweep_deadlines", {"today": today} if today else {}, prefect_api_url, in_process,
             timeout)


@app.command()
def dispatch(prefect_api_url: str | None = _PREFECT_URL, in_process: bool = _IN_PROCESS,
             timeout: float = _TIMEOUT) -> None:
    """Run the outbox dispatcher now.

    Renders, delivers and archives what is due: the deployment dispatch_outbox on the Prefect
    server when one answers, else in this process."""
    _run_now("dispatch_outbox", {}, prefect_api_url, in_process, timeout)


def _prefect_answers(api_url: str) -> bool:
    """A Prefect server answers at api_url (a 401/403 is one that wants credentials, which
    Prefect's client takes from the environment)."""
    import httpx

    try:
        return httpx.get(f"{api_url}/health", timeout=3).status_code in (200, 401, 403)
    except httpx.HTTPError:
        return False


def _run_now(flow_name: str, parameters: dict, prefect_api_url: str | None, in_process: bool,
             timeout: float) -> None:
    """Run a flow by its deployment on the Prefect server when one answers (so it runs where the
    schedules run, one at a time, and shows in the Prefect UI); otherwise in this process."""
    import os

    from core.config import get_settings
    from core.logging import PREFECT_LOGGING_CONFIG, configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    # Before Prefect is imported: its console lines as JSON, and no analytics from here.
    os.environ.setdefault("PREFECT_LOGGING_SETTINGS_PATH", str(PREFECT_LOGGING_CONFIG))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    api_url = (prefect_api_url or LOCAL_PREFECT_API).rstrip("/")
    answers = _prefect_answers(api_url)
    if answers and not in_process:
        os.environ["PREFECT_API_URL"] = api_url
        ok, summary = _run_deployment(flow_name, parameters, api_url, timeout)
    elif answers:  # --in-process, recorded on the server that answered
        os.environ["PREFECT_API_URL"] = api_url
        ok, summary = _run_in_process(flow_name, parameters, api_url)
    else:
        # Prefect runs the flow on a temporary server of its own, recorded in the Prefect
        # database `gongkai run` uses (unless PREFECT_HOME says otherwise).
        os.environ.pop("PREFECT_API_URL", None)
        home = os.environ.setdefault("PREFECT_HOME",
                                     str((settings.data_dir / "prefect").resolve()))
        os.makedirs(home, exist_ok=True)
        if not in_process:
            typer.echo(f"note: no Prefect server answered at {api_url}; running {flow_name} in "
                       f"this process instead (recorded under PREFECT_HOME={home})", err=True)
        ok, summary = _run_in_process(flow_name, parameters, None)
    if summary is not None:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    raise typer.Exit(0 if ok else 1)


def _run_deployment(flow_name: str, parameters: dict, api_url: str,
                    timeout: float) -> tuple[bool, dict | None]:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.deployments import arun_deployment
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    name = f"{flow_name}/{DEPLOYMENT}"

    async def go():
        async with get_client() as client:
            run = await arun_deployment(name, client=client, parameters=parameters,
                                        timeout=timeout, poll_interval=1, as_subflow=False)
            artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
            return run, artifacts

    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            run, artifacts = asyncio.run(go())
    except ObjectNotFound:
        typer.echo(f"no deployment {name} on the Prefect server at {api_url}: start "
                   "`gongkai run` (or `gongkai-flows serve`, or `gongkai-flows deploy` and a "
                   "worker), or run it here with --in-process", err=True)
        raise typer.Exit(1) from None
    state = run.state
    where = f"{api_url.removesuffix('/api')}/runs/flow-run/{run.id}"
    typer.echo(f"{name}: flow run '{run.name}' {state.name if state else 'unknown'}  ({where})")
    if state is None or not state.is_final():
        typer.echo(f"still {state.name if state else 'not started'} after {timeout:g} s: is "
                   "`gongkai run`, `gongkai-flows serve` or a worker running? The run will go "
                   "on when one is.", err=True)
        return False, None
    if not state.is_completed():
        typer.echo(f"{flow_name} did not complete: {mask_text(state.message or '')}", err=True)
        return False, None
    summary = next((_summary_of(a.data) for a in artifacts if a.type == "markdown"), None)
    if summary is None and flow_name == "dispatch_outbox":
        typer.echo("nothing was due")
    return True, summary


def _summary_of(markdown) -> dict | None:
    """The JSON block of the summary artifact workflows.flows.report leaves on a run."""
    if not isinstance(markdown, str):
        return None
    body = markdown.strip().removeprefix("```json").removesuffix("```")
    try:
        return json.loads(body)
    except ValueError:
        return None


def _run_in_process(flow_name: str, parameters: dict,
                    api_url: str | None) -> tuple[bool, dict | None]:
    import asyncio
    import importlib

    from prefect.settings import (PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
                                  temporary_settings)

    flow = getattr(importlib.import_module("workflows.flows"), flow_name)
    # No server that answers: Prefect's own temporary one, whatever a profile names. Its 20 s
    # to start are not enough on a busy 2-core machine (measured: a sweep failed to start while
    # the test suite ran beside it); an operator's replay should wait rather than fail.
    startup = {PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:
               max(90, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())}
    with (temporary_settings(updates={PREFECT_API_URL: api_url}) if api_url
          else temporary_settings(updates=startup, restore_defaults={PREFECT_API_URL})):
        state = asyncio.run(flow(**parameters, return_state=True))
        run_name = _flow_run_name(state.state_details.flow_run_id)
    typer.echo(f"{flow_name}: flow run '{run_name}' {state.name}  (in this process)")
    if not state.is_completed():
        typer.echo(f"{flow_name} did not complete: {mask_text(state.message or '')}", err=True)
        return False, None
    return True, state.result()


def _flow_run_name(flow_run_id) -> str:
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            return client.read_flow_run(flow_run_id).name
    except Exception:
        return str(flow_run_id)


def _prepare_access(settings) -> tuple[tuple[str, str] | None, list[tuple[str, list[str]]]]:
    """Fill the bootstrap agency from the settings; on a database with no users, create the
    first admin (a generated password, printed once). Returns (admin login or None,
    [(agency code, missing fields)])."""
    from access import agencies, users
    from core.db import session_scope

    with session_scope() as session:
        agencies.bootstrap(session, settings)
        first = users.first_admin(session)
        session.commit()
        incomplete = [(a.code, agencies.missing(a)) for a in agencies.list_agencies(session)
                      if agencies.missing(a)]
    return ((first[0].username, first[1]) if first else None), incomplete


def _say_access(welcome, incomplete, settings, api: str, bin_dir: str) -> None:
    gongkai = f"{bin_dir}/gongkai"
    if welcome:
        name, password = welcome
        typer.echo(f"首次启动 first start: an admin was created — user {name}, password {password} "
                   "(shown this once; change it with `gongkai users set-password admin`).\n"
                   f"  log in:      curl -c cookies -H 'content-type: application/json' -d "
                   f"'{{\"username\": \"{name}\", \"password\": \"{password}\"}}' {api}/api/v1/auth/login\n"
                   f"  add staff:   {gongkai} users add wang.fang --role staff --agency "
                   f"{settings.agency.code} --display-name 王芳\n"
                   f"  API token:   {gongkai} tokens create wang.fang   "
                   "(then: Authorization: Bearer <token>)")
    for code, missing in incomplete:
        # Letters frozen with placeholders could never be corrected: say so before anyone tries.
        typer.echo(f"WARNING 机关信息未配置 ({code}): letters (and the events that send them, "
                   f"register first) are refused until {', '.join(missing)} are set (see `gongkai "
                   "agency check`)" + ("; demo mode is on: letters are issued marked 演示文书"
                                       if settings.demo_mode else
                                       "; to try the engine out, GONGKAI_DEMO_MODE=true"), err=True)


@app.command()
def run(host: str = "127.0.0.1", port: int = 8000, prefect_port: int = 4200) -> None:
    """Embedded default: a local Prefect server (SQLite under ./data/prefect), the schedules
    served, and the API — in one process, stopped together with Ctrl-C."""
    import asyncio
    import os
    import subprocess
    import sys

    from core.config import get_settings
    from core.logging import PREFECT_LOGGING_CONFIG

    settings = get_settings()
    prefect_home = (settings.data_dir / "prefect").resolve()
    prefect_home.mkdir(parents=True, exist_ok=True)
    api_url = f"http://127.0.0.1:{prefect_port}/api"
    # Before anything imports Prefect, which reads its settings from the environment.
    os.environ.update({"PREFECT_HOME": str(prefect_home), "PREFECT_API_URL": api_url,
                       "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                       "PREFECT_LOGGING_SETTINGS_PATH": str(PREFECT_LOGGING_CONFIG)})
    bin_dir = os.path.dirname(sys.executable)
    # Both databases' migrations in short-lived children: a first start's migrations left ~40 MB
    # behind in the process that ran them (measured), and this one stays up.
    for step in ([sys.executable, "-m", "cli", "db", "upgrade"],
                 [os.path.join(bin_dir, "prefect"), "server", "database", "upgrade", "-y"]):
        if subprocess.run(step, stdout=subprocess.DEVNULL).returncode != 0:
            typer.echo(f"could not migrate: {' '.join(step)}", err=True)
            raise typer.Exit(1)
    os.environ["PREFECT_SERVER_DATABASE_MIGRATE_ON_START"] = "false"
    welcome, incomplete = _prepare_access(settings)

    def started() -> None:
        typer.echo(f"Gongkai API:  http://{host}:{port}/api/v1  (docs: http://{host}:{port}/docs)\n"
                   f"Prefect UI:   http://127.0.0.1:{prefect_port}  (schedules: dispatch_outbox every "
                   f"{settings.dispatch_interval_seconds} s, sweep_deadlines at '{settings.sweep_cron}' "
                   f"{settings.timezone})\n" + run_now_hint(api_url, bin_dir))
        _say_access(welcome, incomplete, settings, f"http://{host}:{port}", bin_dir)

    from cli.together import run_together

    raise typer.Exit(asyncio.run(run_together(settings, host=host, port=port,
                                              prefect_port=prefect_port, started=started)))


if __name__ == "__main__":
    app()
