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


if __name__ == "__main__":
    app()
