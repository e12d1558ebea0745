"""Checkpoints (检查点): signed Merkle roots over the whole audit log, and checking the log
against them.

Why: triggers and grants stop the service from rewriting history, but not a superuser who
disables the triggers and recomputes every hash of a chain — the chain would verify. A
checkpoint signs the root of an RFC 6962 tree whose leaves are every event hash in the order
checkpoints took them; the signed statement is also written to a file outside the database.
Against it, an event changed or removed after the checkpoint no longer has its leaf, and a
leaf log rewritten to match no longer gives the signed root. The key that signs never lives in
the database.

Taking one: read the leaves and the events not yet leaves in one read-only snapshot, check
those events' chains (a checkpoint never seals a broken chain), check the old leaves still
give the last checkpoint's root, then append leaves, stored subtrees and the signed head in one
short write transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, insert, text

from audit.bulk_verify import fast_hash
from audit.chain import GENESIS_HASH, canonical_json
from audit.merkle import Tree, leaf_hash, root_from_inclusion, tree_of_hex
from audit.models import AuditCheckpoint, AuditLeaf, AuditNode
from audit.signing import key_id, public_hex, sign, signature_holds
from core.db import driver_batches, read_only

FORMAT = "gongkai-checkpoint/1"
STATEMENT_KEYS = {"format", "number", "tree_size", "root", "signed_at", "key_id"}
# Subtrees of 1,024 leaves and up are stored: a proof then hashes at most ~2,000 leaves.
STORED_LEVEL = 10
_LOCK = 0x676F6E676B6169  # PostgreSQL advisory lock: one checkpoint writer at a time


class CheckpointError(Exception):
    """A checkpoint cannot be taken or does not hold; `broken` names events where known."""

    def __init__(self, message: str, broken: list[tuple[int, int, str]] | None = None) -> None:
        super().__init__(message)
        self.broken = broken or []


@dataclass(frozen=True)
class SignedHead:
    """A checkpoint as written to its file and put in an export: the statement, signed."""
    statement: str
    signature: str
    public_key: str

    @property
    def fields(self) -> dict:
        return json.loads(self.statement)

    def check(self, trusted_key: str | None = None) -> dict:
        """The statement's fields if the signature holds (under `trusted_key`, if given)."""
        try:
            fields = json.loads(self.statement)
        except ValueError:
            raise CheckpointError("the checkpoint statement is not JSON") from None
        if not isinstance(fields, dict) or set(fields) != STATEMENT_KEYS or fields["format"] != FORMAT:
            raise CheckpointError(f"not a {FORMAT} statement")
        if trusted_key is not None and self.public_key != trusted_key:
            raise CheckpointError(f"checkpoint #{fields['number']} is signed by key "
                                  f"{key_id(self.public_key)}, not by the trusted key {key_id(trusted_key)}")
        if fields["key_id"] != key_id(self.public_key) or not signature_holds(
                self.public_key, self.statement.encode("utf-8"), self.signature):
            raise CheckpointError(f"checkpoint #{fields['number']}: the signature does not hold")
        return fields

    def write(self, directory: Path) -> Path:
        """Write to `directory`/checkpoint-NNNNNN.json (never over a different file)."""
        path = directory / f"checkpoint-{self.fields['number']:06d}.json"
        body = json.dumps(asdict(self), ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
        directory.mkdir(parents=True, exist_ok=True)
        if path.exists():
            if path.read_bytes() != body:
                raise CheckpointError(f"{path} exists and holds another checkpoint")
            return path
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(body)
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, path: Path) -> SignedHead:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return cls(doc["statement"], doc["signature"], doc["public_key"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path} is not a checkpoint file: {exc}") from None


def latest_file(directory: Path) -> Path | None:
    files = sorted(directory.glob("checkpoint-*.json")) if directory.is_dir() else []
    return files[-1] if files else None


def _row_head(row) -> SignedHead:
    return SignedHead(row.statement, row.signature, row.public_key)


def latest(conn: Connection) -> SignedHead | None:
    row = conn.execute(text("SELECT statement, signature, public_key FROM audit_checkpoint "
                            "ORDER BY number DESC LIMIT 1")).first()
    return _row_head(row) if row else None


def by_number(conn: Connection, number: int) -> SignedHead | None:
    row = conn.execute(text("SELECT statement, signature, public_key FROM audit_checkpoint "
                            "WHERE number = :n"), {"n": number}).first()
    return _row_head(row) if row else None


def leaf_hashes(conn: Connection, size: int | None = None) -> list[str]:
    """The leaf log's hashes in order (the first `size`), read through the driver's own cursor:
    a million SQLAlchemy rows would cost more than hashing the tree."""
    sql = "SELECT idx, hash FROM audit_leaf" + (" WHERE idx < :n" if size is not None else "")
    hashes: list[str] = []
    for rows in driver_batches(conn, sql + " ORDER BY idx", {"n": size}, name="leaf_hashes",
                               size=50_000):
        if rows[-1][0] != len(hashes) + len(rows) - 1:
            missing = next(len(hashes) + i for i, (idx, _) in enumerate(rows) if idx != len(hashes) + i)
            raise CheckpointError(f"leaf {missing} is missing from the leaf log")
        hashes.extend(h for _, h in rows)
    return hashes


_UNLEAFED = """
SELECT e.id, e.request_id, e.seq, e.recorded_at, e."on", e.actor, e.event, e.from_state,
       e.to_state, e.data, e.prev_hash, e.hash, p.hash
FROM audit_event e LEFT JOIN audit_event p ON p.request_id = e.request_id AND p.seq = e.seq - 1
WHERE NOT EXISTS (SELECT 1 FROM audit_leaf l WHERE l.event_id = e.id)
ORDER BY e.id"""


def _new_events(conn: Connection) -> list[tuple[int, int, int, str]]:
    """(event id, request id, seq, hash) of events not yet leaves, each checked against its
    content and its predecessor; a broken one stops the checkpoint."""
    fresh, broken = [], []
    for (eid, rid, seq, recorded_at, on, actor, event, from_state, to_state, data, prev_hash,
         h, before) in conn.execute(text(_UNLEAFED)):
        if fast_hash(rid, seq, recorded_at, on, actor, event, from_state, to_state, data,
                     prev_hash) != h:
            broken.append((rid, seq, f"event {seq} was altered after it was written"))
        elif prev_hash != (GENESIS_HASH if seq == 1 else before):
            broken.append((rid, seq, f"event {seq} does not link to event {seq - 1}"))
        fresh.append((eid, rid, seq, h))
    if broken:
        raise CheckpointError(f"{len(broken)} events do not verify: no checkpoint seals them", broken)
    return fresh


@dataclass(frozen=True)
class Taken:
    head: SignedHead
    number: int
    tree_size: int
    added: int  # leaves this checkpoint added (0: nothing new, the last checkpoint stands)


def take(engine: Engine, key: Ed25519PrivateKey, *, outside: SignedHead | None = None,
         now: dt.datetime | None = None, progress: Callable[[int], None] | None = None) -> Taken:
    """Sign the next checkpoint. `outside`: the latest one written outside the database, which
    the database must still hold unchanged — an administrator who removed the last checkpoints
    to rewrite what they covered is refused here."""
    with read_only(engine) as conn:
        conn.execute(text("SELECT 1"))  # one snapshot for the leaves and the new events
        last = latest(conn)
        if outside is not None:
            number = outside.check(public_hex(key))["number"]
            if by_number(conn, number) != outside:
                raise CheckpointError(f"checkpoint #{number}, written outside the database, is "
                                      "missing from it or differs: its checkpoints were tampered with")
        old = leaf_hashes(conn)
        fresh = _new_events(conn)
    try:
        tree = tree_of_hex(old + [h for *_, h in fresh], progress)
    except ValueError:
        raise CheckpointError("the leaf log holds a hash that is not hex: it was written by hand") from None
    number, before = 1, 0
    if last is not None:
        # Under this deployment's own key: a checkpoint row forged with another key must not
        # become the base the next one vouches for.
        fields = last.check(public_hex(key))
        number, before = fields["number"] + 1, fields["tree_size"]
        if before > len(old) or tree.root(before).hex() != fields["root"]:
            raise CheckpointError(f"the leaf log no longer gives the root of checkpoint "
                                  f"#{fields['number']}: history before it was rewritten")
        if not fresh:
            return Taken(last, fields["number"], before, 0)
    statement = canonical_json({
        "format": FORMAT, "number": number, "tree_size": tree.size, "root": tree.root().hex(),
        "signed_at": (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
        "key_id": key_id(public_hex(key))})
    head = SignedHead(statement, sign(key, statement.encode("utf-8")), public_hex(key))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
        now_last = latest(conn)
        if (now_last and now_last.fields["number"]) != (last and last.fields["number"]):
            raise CheckpointError("another checkpoint was taken meanwhile: run it again")
        start = len(old)
        leaves = [{"idx": start + i, "event_id": eid, "request_id": rid, "seq": seq, "hash": h}
                  for i, (eid, rid, seq, h) in enumerate(fresh)]
        for i in range(0, len(leaves), 10_000):
            conn.execute(insert(AuditLeaf.__table__), leaves[i:i + 10_000])
        nodes = [{"level": level, "idx": i, "hash": h.hex()}
                 for level in range(STORED_LEVEL, len(tree.levels))
                 for i, h in tree.stored_nodes(level, start >> level)]
        if nodes:
            conn.execute(insert(AuditNode.__table__), nodes)
        f = json.loads(statement)
        conn.execute(insert(AuditCheckpoint.__table__), [{
            "number": number, "tree_size": f["tree_size"], "root": f["root"],
            "signed_at": f["signed_at"], "key_id": f["key_id"], "public_key": head.public_key,
            "statement": statement, "signature": head.signature}])
    return Taken(head, number, tree.size, len(fresh))


class StoredTree(Tree):
    """The tree as the database holds it: stored subtrees, leaves fetched as a proof needs them."""

    def __init__(self, conn: Connection, size: int) -> None:
        self.conn, self.size, self.levels = conn, size, []

    def _perfect(self, level: int, index: int) -> bytes:
        if level >= STORED_LEVEL:
            row = self.conn.execute(text("SELECT hash FROM audit_node WHERE level = :l AND idx = :i"),
                                    {"l": level, "i": index}).first()
            if row is None:
                raise CheckpointError(f"stored subtree {level}/{index} is missing")
            return bytes.fromhex(row[0])
        lo, hi = index << level, (index + 1) << level
        rows = self.conn.execute(text("SELECT hash FROM audit_leaf WHERE idx >= :lo AND idx < :hi "
                                      "ORDER BY idx"), {"lo": lo, "hi": hi}).scalars().all()
        if len(rows) != hi - lo:
            raise CheckpointError(f"leaves {lo}..{hi - 1} are missing from the leaf log")
        return tree_of_hex(rows).root()


@dataclass(frozen=True)
class Inclusion:
    seq: int
    leaf_index: int
    tree_size: int
    path: list[str]


def inclusion(conn: Connection, request_id: int, tree_size: int) -> Inclusion | None:
    """The proof that the request's latest event covered by a tree of `tree_size` is in it."""
    row = conn.execute(text("SELECT idx, seq, hash FROM audit_leaf WHERE request_id = :r "
                            "AND idx < :n ORDER BY idx DESC LIMIT 1"),
                       {"r": request_id, "n": tree_size}).first()
    if row is None:
        return None
    path = StoredTree(conn, tree_size).inclusion(row.idx)
    return Inclusion(row.seq, row.idx, tree_size, [p.hex() for p in path])


def consistency(conn: Connection, old: dict, new: dict) -> list[str]:
    """The RFC 6962 proof that checkpoint `new` extends `old` (their statement fields)."""
    return [p.hex() for p in StoredTree(conn, new["tree_size"]).consistency(old["tree_size"])]


def against(engine: Engine, head: SignedHead, trusted_key: str | None = None,
            progress: Callable[[int], None] | None = None) -> tuple[dict, list[tuple[int, int, str]]]:
    """Check the log against a checkpoint: its signature, that the leaf log still gives its
    root, and that every event it covers still exists as it was. Returns the statement's fields
    and the events (request id, seq, reason) changed or removed since; raises if the leaf log
    itself was rewritten. With `gongkai audit verify`'s recomputation of every stored hash from
    its event, this proves no event before the checkpoint was changed or removed."""
    fields = head.check(trusted_key)
    with read_only(engine) as conn:
        conn.execute(text("SELECT 1"))
        hashes = leaf_hashes(conn, fields["tree_size"])
        if len(hashes) < fields["tree_size"]:
            raise CheckpointError(f"checkpoint #{fields['number']} covers {fields['tree_size']} "
                                  f"events; the leaf log holds {len(hashes)}: history was removed")
        try:
            root = tree_of_hex(hashes, progress).root().hex()
        except ValueError:  # a leaf hash that is not hex: the leaf log was written by hand
            root = None
        if root != fields["root"]:
            raise CheckpointError(f"the leaf log no longer gives the root of checkpoint "
                                  f"#{fields['number']}: history before it was rewritten")
        # By the event's id (a leaf's event_id is not under the root, but an event's hash binds
        # its request and seq, so a leaf pointed elsewhere only shows up as one more change).
        gone = conn.execute(text(
            "SELECT l.request_id, l.seq FROM audit_leaf l LEFT JOIN audit_event e ON e.id = l.event_id "
            "WHERE l.idx < :n AND (e.id IS NULL OR e.hash <> l.hash OR e.request_id <> l.request_id "
            "OR e.seq <> l.seq) ORDER BY l.request_id, l.seq"), {"n": fields["tree_size"]}).all()
    first: dict[int, tuple[int, int, str]] = {}
    for rid, seq in gone:
        first.setdefault(rid, (rid, seq, f"event {seq} is not as it was at checkpoint "
                                          f"#{fields['number']} (changed or removed)"))
    return fields, list(first.values())




def request_anchor(conn: Connection, request_id: int, events: list, *,
                   trusted_key: str | None = None, outside: SignedHead | None = None) -> dict | None:
    """What the latest signed checkpoint proves of one request's history (as a legal reviewer's
    page shows it): its number and time, the last event of the request it covers, and whether
    that event's hash still leads to the signed root. The checkpoint is the newer of the
    database's and `outside` (the latest file written outside the database), its signature
    checked under `trusted_key` (the deployment's own public key) when given: a checkpoint
    re-signed with another key, or rows removed from the database, do not pass. None before
    any checkpoint."""
    try:
        head = latest(conn)
        if outside is not None and (head is None or outside.fields["number"] > head.fields["number"]):
            head = outside
        if head is None:
            return None
        fields = head.check(trusted_key)
    except (CheckpointError, ValueError, KeyError, TypeError) as bad:
        return {"number": None, "signed_at": None, "covered_seq": None, "proven": False,
                "problem": str(bad) or type(bad).__name__}
    out = {"number": fields["number"], "signed_at": fields["signed_at"],
           "tree_size": fields["tree_size"], "covered_seq": None, "proven": False, "problem": None}
    if outside is not None and outside.fields.get("number") == fields["number"] \
            and outside.statement != head.statement:
        out["problem"] = "the checkpoint in the database differs from its file"
        return out
    proof = inclusion(conn, request_id, fields["tree_size"])
    if proof is None:
        return out  # the request is newer than the checkpoint
    event = next((e for e in events if e.seq == proof.seq), None)
    out["covered_seq"] = proof.seq
    if event is None:
        out["problem"] = f"event {proof.seq} the checkpoint covers is missing"
        return out
    try:
        root = root_from_inclusion(proof.leaf_index, proof.tree_size,
                                   leaf_hash(bytes.fromhex(event.hash)),
                                   [bytes.fromhex(p) for p in proof.path])
    except ValueError:  # a hash that is not hex: written by hand
        root = None
    out["proven"] = root is not None and root.hex() == fields["root"]
    if not out["proven"]:
        out["problem"] = f"event {proof.seq} no longer leads to the signed root"
    return out
