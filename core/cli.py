"""The `gongkai` command line (Typer). Imports the API by name only, so no room imports upward."""

from __future__ import annotations

import typer

app = typer.Typer(help="Gongkai (公开): 依申请公开 workflow engine.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit chain.", no_args_is_help=True)
app.add_typer(db_app, name="db")
calendar_app = typer.Typer(help="Working-day calendars (国务院节假日安排).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(calendar_app, name="calendar")


@calendar_app.command("load")
def calendar_load(file: str, by: str = typer.Option(..., help="who loads it, e.g. staff:li.na")) -> None:
    """Load a year's official holiday notice (JSON) and recompute every open request's clock."""
    import json

    from rich.progress import Progress

    from core.config import get_settings
    from core.db import get_engine, session_scope
    from states.calendar import YearFileError
    from states.calendars import recompute_open_clocks, store_year

    try:
        with open(file, encoding="utf-8") as fh:
            doc = json.load(fh)
        with session_scope() as session:
            spec = store_year(session, doc, by)
    except (OSError, ValueError, YearFileError) as exc:
        typer.echo(f"not loaded: {exc}", err=True)
        raise typer.Exit(2) from None
    with Progress(transient=True) as bar:
        task = bar.add_task("recomputing open requests", total=None)
        result = recompute_open_clocks(
            get_engine(), actor=by, on=get_settings().today(),
            reason=f"{spec.year}年节假日安排已加载：{doc['source']}",
            progress=lambda n: bar.advance(task, n))
    typer.echo(f"{spec.year} loaded; {result['checked']} open requests checked, "
               f"{result['changed']} due dates changed")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate every table, index and audit guard."""
    from core.config import get_settings
    from core.migrate import upgrade

    upgrade(revision=revision)
    typer.echo(f"database at {get_settings().effective_database_url} is at {revision}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute every request's hash chain; exit 1 naming each broken event."""
    from sqlmodel import select

    import audit
    from core.db import session_scope
    from states.models import Request

    broken = 0
    with session_scope() as session:
        rows = session.exec(select(Request).order_by(Request.id)).all()
        for row in rows:
            result = audit.verify(session, row.id, expected_head=(row.audit_seq, row.audit_head))
            if not result.ok:
                broken += 1
                typer.echo(f"{row.number}: broken at event {result.first_broken_seq}: {result.reason}")
    typer.echo(f"{len(rows)} requests checked, {broken} broken")
    raise typer.Exit(1 if broken else 0)


@app.command()
def diagram() -> None:
    """Print the request state machine as a mermaid diagram (as in the README)."""
    from statemachine.contrib.diagram.formatter import formatter

    from states.machine import RequestMachine

    typer.echo(formatter.render(RequestMachine, "mermaid"))


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Migrate the database, then serve the API (embedded default: SQLite under ./data)."""
    import uvicorn

    from core.migrate import upgrade

    upgrade()
    typer.echo(f"Gongkai API on http://{host}:{port}/api/v1  (docs: http://{host}:{port}/docs)")
    uvicorn.run("api.app:app", host=host, port=port, log_config=None)


def _wait_healthy(url: str, proc, timeout: float) -> bool:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


@app.command()
def run(host: str = "127.0.0.1", port: int = 8000, prefect_port: int = 4200) -> None:
    """Embedded default: a local Prefect server (SQLite under ./data/prefect), the schedules
    served, and the API — one command, stopped together with Ctrl-C."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from core.config import get_settings
    from core.logging import PREFECT_LOGGING_CONFIG
    from core.migrate import upgrade

    settings = get_settings()
    upgrade()
    prefect_home = (settings.data_dir / "prefect").resolve()
    prefect_home.mkdir(parents=True, exist_ok=True)
    api_url = f"http://127.0.0.1:{prefect_port}/api"
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_API_URL": api_url,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_SETTINGS_PATH": str(PREFECT_LOGGING_CONFIG)}
    bin_dir = os.path.dirname(sys.executable)
    procs = [subprocess.Popen([os.path.join(bin_dir, "prefect"), "server", "start", "--host",
                               "127.0.0.1", "--port", str(prefect_port)], env=env)]
    if not _wait_healthy(f"{api_url}/health", procs[0], 120):
        procs[0].terminate()
        typer.echo(f"the local Prefect server did not start on port {prefect_port} "
                   "(is another one running there?)", err=True)
        raise typer.Exit(1)
    procs.append(subprocess.Popen([sys.executable, "-m", "workflows.serve", "serve"], env=env))
    procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:app", "--host", host,
                                   "--port", str(port), "--log-config",
                                   str(PREFECT_LOGGING_CONFIG.with_name("uvicorn_logging.yml"))],
                                  env=env))
    typer.echo(f"Gongkai API:  http://{host}:{port}/api/v1  (docs: http://{host}:{port}/docs)\n"
               f"Prefect UI:   http://127.0.0.1:{prefect_port}  (schedules: dispatch_outbox every "
               f"{settings.dispatch_interval_seconds} s, sweep_deadlines at '{settings.sweep_cron}' "
               f"{settings.timezone})")
    stop = {"now": False}

    def _stop(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stop["now"] and all(p.poll() is None for p in procs):
            time.sleep(0.5)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    # Stopped by Ctrl-C/SIGTERM: success. One part died on its own: say so and fail.
    raise typer.Exit(0 if stop["now"] else 1)


if __name__ == "__main__":
    app()
