"""The append-only, hash-chained event log (审计链). Imports nothing else of Gongkai's.

Public surface: `AuditEvent` (table), `append`, `verify`, `history`, `canonical_json`,
`GENESIS_HASH`, and the SQL guards in `audit.guards`.
"""

from audit.chain import GENESIS_HASH, append, canonical_json, event_hash, history, verify, VerifyResult
from audit.models import AuditEvent

__all__ = ["AuditEvent", "GENESIS_HASH", "VerifyResult", "append", "canonical_json",
           "event_hash", "history", "verify"]
