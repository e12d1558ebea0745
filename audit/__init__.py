"""The append-only, hash-chained event log (审计链). Imports nothing else of Gongkai's.

Public surface: `AuditEvent` (table), `append`, `verify`, `history`, `canonical_json`,
`append_many`, `GENESIS_HASH`; the access log (`AccessEvent`, `append_access`, `verify_access`,
`access_history`); and the SQL guards in `audit.guards`.
"""

from audit.access_log import access_history, append_access, verify_access
from audit.chain import (GENESIS_HASH, VerifyResult, append, append_many, canonical_json,
                         event_hash, history, verify)
from audit.models import AccessEvent, AuditEvent

__all__ = ["AccessEvent", "AuditEvent", "GENESIS_HASH", "VerifyResult", "access_history",
           "append", "append_access", "append_many", "canonical_json", "event_hash", "history",
           "verify", "verify_access"]
