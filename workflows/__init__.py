"""Prefect flows and their schedules, and the plain functions they call (rooms: DESIGN.md).

Plain functions (testable without Prefect): `outbox` (claim/process, given an effect registry),
`effects` (what each kind does: the `EFFECTS` registry), `dispatch` (`dispatch_once`: the two
together), `sweeps` (lapses), `deadlines` (flags and digests), `mail`. Prefect: `flows`, `serve`.
"""

import os

from core.logging import PREFECT_LOGGING_CONFIG

# Before anything imports prefect: its console lines become structlog JSON like ours.
os.environ.setdefault("PREFECT_LOGGING_SETTINGS_PATH", str(PREFECT_LOGGING_CONFIG))
# An agency's server does not phone home.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
