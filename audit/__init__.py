"""The append-only, hash-chained event log (审计链). Imports nothing else of Gongkai's.

Public surface: `AuditEvent` (table), `append`, `verify`, `history`, `canonical_json`,
`append_many`, `GENESIS_HASH`, and the SQL guards in `audit.guards`.
"""

from audit.chain import (GENESIS_HASH, VerifyResult, append, append_many, canonical_json,
                         event_hash, history, verify)
from audit.models import AuditEvent

__all__ = ["AuditEvent", "GENESIS_HASH", "VerifyResult", "append", "append_many", "canonical_json",
           "event_hash", "history", "verify"]
