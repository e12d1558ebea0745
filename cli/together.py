"""`gongkai run`'s one process: the local Prefect server, the Gongkai API and the runner that
serves the schedules, side by side in one interpreter.

Three processes each loaded their own copy of the same libraries: 460–535 MiB idle, against
~220 MiB together (measured with `ps`/smaps PSS, README "Performance"). The two servers share
this event loop; the runner has a thread and a loop of its own, as Prefect's `serve` would, and
each flow run still gets a process of its own that ends with the run. Stopped by SIGTERM or
Ctrl-C: the runner first (it pauses its schedules through the server), then both servers; exit
status 0. Any part ending on its own (a port already taken, a crash) stops the rest: status 1.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable

from core.config import Settings
from core.logging import UVICORN_LOGGING_CONFIG


async def _until_started(server, task: asyncio.Task) -> bool:
    while not server.started:
        if task.done():
            return False
        await asyncio.sleep(0.1)
    return True


async def run_together(settings: Settings, *, host: str, port: int, prefect_port: int,
                       started: Callable[[], None]) -> int:
    import uvicorn
    from prefect.server.api.server import create_app as prefect_app

    prefect = uvicorn.Server(uvicorn.Config(prefect_app(final=True), host="127.0.0.1",
                                            port=prefect_port, log_level="warning"))
    api = uvicorn.Server(uvicorn.Config("api.app:app", host=host, port=port,
                                        log_config=str(UVICORN_LOGGING_CONFIG)))
    tasks = [asyncio.create_task(prefect.serve(), name="prefect server")]
    if not await _until_started(prefect, tasks[0]):
        print(f"the local Prefect server did not start on port {prefect_port} "
              "(is another one running there?)", flush=True)
        return 1
    tasks.append(asyncio.create_task(api.serve(), name="gongkai api"))
    if not await _until_started(api, tasks[1]):
        prefect.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        print(f"the Gongkai API did not start on {host}:{port} (is the port taken?)", flush=True)
        return 1

    runner_box: dict = {}
    runner_thread = threading.Thread(target=_serve_schedules, args=(settings, runner_box),
                                     name="gongkai-schedules", daemon=True)
    runner_thread.start()
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    # Installed after both servers started: each uvicorn server installs its own on start.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stopping.set))
    started()

    ended = asyncio.create_task(_ended(runner_thread))
    done, _ = await asyncio.wait([asyncio.create_task(stopping.wait()), ended, *tasks],
                                 return_when=asyncio.FIRST_COMPLETED)
    asked = stopping.is_set()
    runner, runner_loop = runner_box.get("runner"), runner_box.get("loop")
    if runner is not None and runner_loop is not None and runner_loop.is_running():
        try:
            await asyncio.wait_for(asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(runner.astop(), runner_loop)), 30)
        except Exception as exc:  # stopping anyway: say why the schedules may stay unpaused
            print(f"the schedules' runner did not stop cleanly: {exc!r}", flush=True)
    # Its thread may outlive the stop (a run being cancelled): a daemon, it does not hold the
    # process, and no thread of this loop's executor may wait on it, or asyncio.run would too.
    try:
        await asyncio.wait_for(_ended(runner_thread), 30)
    except asyncio.TimeoutError:
        print("the schedules' runner is still finishing: stopping without it", flush=True)
    # Prefect's log and event workers send to the server in this process: drained while it is up,
    # or they would wait at exit for a server already gone (measured: forever).
    await asyncio.to_thread(_drain_prefect_workers)
    api.should_exit = prefect.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    if not asked:
        what = ", ".join(t.get_name() for t in done if t in tasks) or "the schedules' runner"
        print(f"{what} ended on its own: stopping", flush=True)
    return 0 if asked else 1


def _drain_prefect_workers() -> None:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=10, at_exit=False)
        except Exception as exc:  # stopping anyway
            print(f"{worker.__name__} did not drain: {exc!r}", flush=True)


async def _ended(thread: threading.Thread) -> None:
    while thread.is_alive():
        await asyncio.sleep(0.2)


def _serve_schedules(settings: Settings, box: dict) -> None:
    from prefect.runner import Runner

    from workflows.serve import serve_with

    async def go() -> None:
        runner = Runner(pause_on_shutdown=True)
        box.update(runner=runner, loop=asyncio.get_running_loop())
        await serve_with(runner, settings)

    asyncio.run(go())
