"""Verifying every chain at once (`gongkai audit verify`): one ordered pass over all events,
merged with the heads recorded on the requests, each event hashed as `chain.event_hash` does.

Per event it builds the canonical JSON with orjson (sorted keys, compact, UTF-8 — the same bytes
as `canonical_json`, which a test checks on hostile text) instead of the json module, and never
builds an ORM object: the pass is bound by SHA-256 and the database cursor, not by Python objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import orjson

from audit.chain import GENESIS_HASH, event_hash

# The columns of audit_event as the pass reads them, in this order.
COLUMNS = ("request_id", "seq", "recorded_at", "on", "actor", "event", "from_state", "to_state",
           "data", "prev_hash", "hash")
_SORTED = orjson.OPT_SORT_KEYS


def fast_hash(request_id: int, seq: int, recorded_at: str, on: str, actor: str, event: str,
              from_state: str | None, to_state: str, data: str, prev_hash: str) -> str:
    """`chain.event_hash`, faster; falls back to it for text orjson refuses (lone surrogates)."""
    try:
        body = orjson.dumps({"request_id": request_id, "seq": seq, "recorded_at": recorded_at,
                             "on": on, "actor": actor, "event": event, "from_state": from_state,
                             "to_state": to_state, "data": data, "prev_hash": prev_hash},
                            option=_SORTED)
    except (orjson.JSONEncodeError, TypeError):
        return event_hash(request_id=request_id, seq=seq, recorded_at=recorded_at, on=on,
                          actor=actor, event=event, from_state=from_state, to_state=to_state,
                          data=data, prev_hash=prev_hash)
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Broken:
    request_id: int
    first_broken_seq: int
    reason: str


@dataclass
class Tally:
    chains: int = 0
    events: int = 0


def verify_chains(events: Iterable[tuple], heads: Iterable[tuple[int, int, str]], tally: Tally,
                  progress: Callable[[int], None] | None = None, every: int = 10_000
                  ) -> Iterator[Broken]:
    """Yield each broken chain with its first broken event.

    `events`: rows of COLUMNS ordered by (request_id, seq); `heads`: (request_id, seq, hash) of
    every request ordered by request_id — the head the one door recorded, without which a
    deleted tail or a whole deleted chain would go unnoticed. Events of no known request are
    reported too (request_id of the events)."""
    rows = iter(events)
    row = next(rows, None)
    done_since = 0
    for request_id, head_seq, head_hash in heads:
        tally.chains += 1
        while row is not None and row[0] < request_id:  # events of a request that does not exist
            orphan = row[0]
            yield Broken(orphan, row[1], f"events of request {orphan}, which does not exist")
            while row is not None and row[0] == orphan:
                tally.events += 1
                row = next(rows, None)
        prev, n, broken = GENESIS_HASH, 0, None
        while row is not None and row[0] == request_id:
            n += 1
            tally.events += 1
            done_since += 1
            if broken is None:
                _rid, seq, recorded_at, on, actor, event, from_state, to_state, data, prev_hash, h = row
                if seq != n:
                    broken = Broken(request_id, n, f"event {n} is missing (found seq {seq})")
                elif prev_hash != prev:
                    broken = Broken(request_id, seq, f"event {seq} does not link to event {seq - 1}")
                elif fast_hash(request_id, seq, recorded_at, on, actor, event, from_state, to_state,
                               data, prev_hash) != h:
                    broken = Broken(request_id, seq, f"event {seq} was altered after it was written")
                prev = h
            row = next(rows, None)
        if broken is None:
            if head_seq > n:
                broken = Broken(request_id, n + 1, f"events {n + 1}..{head_seq} are missing")
            elif head_seq < n:
                broken = Broken(request_id, head_seq + 1,
                                f"event {head_seq + 1} was added outside the one door")
            elif head_hash != prev:
                broken = Broken(request_id, n, f"event {n} does not match the head recorded on "
                                "the request")
        if broken is not None:
            yield broken
        if progress and done_since >= every:
            progress(done_since)
            done_since = 0
    while row is not None:  # events after the last request
        orphan = row[0]
        yield Broken(orphan, row[1], f"events of request {orphan}, which does not exist")
        while row is not None and row[0] == orphan:
            tally.events += 1
            row = next(rows, None)
    if progress and done_since:
        progress(done_since)
