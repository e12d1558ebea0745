"""Dispatch the outbox without Prefect: claim a batch and run each row's effect (the
`dispatch_outbox` flow does the same, one sub-flow a row). Kept apart from `outbox` (the
queue's mechanics) and `effects` (what each kind does) so neither imports the other."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from core.config import Settings, get_settings
from workflows.effects import EFFECTS
from workflows.outbox import DispatchResult, claim, park_exhausted, process, worker_name


def dispatch_once(engine: Engine, settings: Settings | None = None, *, worker: str | None = None,
                  limit: int = 50, today: dt.date | None = None) -> DispatchResult:
    """Claim a batch and process it."""
    settings = settings or get_settings()
    worker = worker or worker_name()
    today = today or settings.today()
    park_exhausted(engine, settings)
    result = DispatchResult()
    for item in claim(engine, worker, limit=limit, lease_seconds=settings.outbox_lease_seconds):
        getattr(result, process(engine, item, worker, effects=EFFECTS, settings=settings,
                                today=today)).append(item.id)
    return result
