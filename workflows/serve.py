"""The schedules, served (embedded) or deployed to a work pool (scale-out): `gongkai-flows`.

- `gongkai-flows serve`: this process registers the two deployments with the Prefect server at
  PREFECT_API_URL and runs their scheduled runs itself (what `gongkai run` starts).
- `gongkai-flows deploy --pool NAME`: registers the same deployments on a process work pool, so
  any number of `prefect worker start --pool NAME` run them (scale-out).
"""

from __future__ import annotations

from pathlib import Path

import typer
from prefect.schedules import Cron, Interval

from core.config import Settings, get_settings
from core.logging import PREFECT_LOGGING_CONFIG, configure_logging
from workflows.flows import checkpoint_audit, dispatch_outbox, sweep_deadlines

from workflows.hints import DEPLOYMENT, run_now_hint
PROJECT_ROOT = Path(__file__).resolve().parent.parent
app = typer.Typer(help="Gongkai's Prefect schedules.", no_args_is_help=True)


def schedules(settings: Settings) -> dict:
    return {
        "dispatch_outbox": (dispatch_outbox, "workflows/flows.py:dispatch_outbox",
                            Interval(settings.dispatch_interval_seconds)),
        "sweep_deadlines": (sweep_deadlines, "workflows/flows.py:sweep_deadlines",
                            Cron(settings.sweep_cron, timezone=settings.timezone)),
        "checkpoint_audit": (checkpoint_audit, "workflows/flows.py:checkpoint_audit",
                             Cron(settings.checkpoint_cron, timezone=settings.timezone)),
    }


# One run of each at a time: on Prefect's embedded SQLite, overlapping runs of a short interval
# pile up and lock its database (measured with a 2 s interval).
SERVED = {"name": DEPLOYMENT, "tags": ["gongkai"], "concurrency_limit": 1}


async def serve_with(runner, settings: Settings) -> None:
    """Serve the schedules with `runner` (a prefect Runner) until it is stopped: what `gongkai
    run` does inside its one process. Each run still gets a process of its own (Prefect's
    default), which ends with the run and gives its memory back."""
    for flow, _, schedule in schedules(settings).values():
        await runner.aadd_deployment(await flow.ato_deployment(schedule=schedule, **SERVED))
    await runner.start()


@app.command("serve")
def serve_schedules(banner: bool = typer.Option(True, help="say what is served and how to run "
                                                "it now (`gongkai run` prints its own)")) -> None:
    """Run the schedules in this process (embedded default)."""
    import sys

    from prefect import serve
    from prefect.settings import PREFECT_API_URL

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    deployments = [flow.to_deployment(schedule=schedule, **SERVED)
                   for flow, _, schedule in schedules(settings).values()]
    if banner:
        # Instead of Prefect's own, whose `prefect deployment run [DEPLOYMENT_NAME]` fails in
        # any shell that does not know this server's PREFECT_API_URL.
        api_url = PREFECT_API_URL.value()
        typer.echo(f"Serving {', '.join(f'{name}/{DEPLOYMENT}' for name in schedules(settings))}"
                   f" on {api_url or 'a temporary Prefect server (PREFECT_API_URL is not set)'}")
        if api_url:
            typer.echo(run_now_hint(api_url, str(Path(sys.executable).parent)))
    serve(*deployments, print_starting_message=False)


@app.command("deploy")
def deploy(pool: str = typer.Option(..., help="a Prefect work pool of type process"),
           source: Path = typer.Option(PROJECT_ROOT, help="where workers find the code")) -> None:
    """Register the deployments on a work pool; workers run them (scale-out)."""
    from prefect import Flow

    settings = get_settings()
    # The flow-run processes a worker starts log Prefect's lines as JSON too (ours always are).
    logging_config = source.resolve() / "core" / PREFECT_LOGGING_CONFIG.name
    job_variables = ({"env": {"PREFECT_LOGGING_SETTINGS_PATH": str(logging_config)}}
                     if logging_config.exists() else {})
    for name, (_, entrypoint, schedule) in schedules(settings).items():
        remote = Flow.from_source(source=str(source), entrypoint=entrypoint)
        deployment_id = remote.deploy(name=DEPLOYMENT, work_pool_name=pool, schedule=schedule,
                                      tags=["gongkai"], build=False, push=False,
                                      job_variables=job_variables, print_next_steps=False)
        typer.echo(f"{name}/{DEPLOYMENT} on pool {pool}: {deployment_id}")


if __name__ == "__main__":
    app()
