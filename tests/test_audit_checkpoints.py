"""Signed checkpoints let a legal reviewer trust a history without trusting the database's
administrator: whoever disables the triggers and recomputes every hash is still caught."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import audit
from audit import checkpoint as cp
from audit.merkle import leaf_hash, root_from_inclusion, verify_consistency
from audit.signing import public_hex
from core.db import read_only, session_scope
from tests.conftest import fire, new_request
from workflows.checkpoints import take_checkpoint

ROOT = Path(__file__).resolve().parent.parent


def _lifecycle(client) -> int:
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-03")
    fire(client, rid, "decide", "2026-03-04", outcome="disclosed_already_public")
    return rid  # events: receive 1, register 2, 登记回执 3, review 4, decide 5


def _tamper(engine, backend: str, *statements, tables=("audit_event",)) -> None:
    """A superuser: guards off, rewrite, guards on."""
    from audit.guards import drop_statements, guard_statements
    with engine.begin() as conn:
        for table in tables:
            if backend == "sqlite":
                for s in drop_statements("sqlite", table):
                    conn.execute(text(s))
            else:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        for statement, params in statements:
            conn.execute(text(statement), params)
        for table in tables:
            if backend == "sqlite":
                for s in guard_statements("sqlite", table):
                    conn.execute(text(s))
            else:
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def _rewrite_chain(engine, backend, request_id: int, seq: int, old: str, new: str) -> None:
    """Change event `seq`'s data and recompute its hash and every later one, and the head kept
    on the request: a chain that verifies on its own."""
    with session_scope(engine) as session:
        events = audit.history(session, request_id)
    statements, prev = [], events[seq - 2].hash if seq > 1 else audit.GENESIS_HASH
    for e in events[seq - 1:]:
        data = e.data.replace(old, new) if e.seq == seq else e.data
        h = audit.event_hash(request_id=e.request_id, seq=e.seq, recorded_at=e.recorded_at, on=e.on,
                             actor=e.actor, event=e.event, from_state=e.from_state,
                             to_state=e.to_state, data=data, prev_hash=prev)
        statements.append(("UPDATE audit_event SET data = :d, prev_hash = :p, hash = :h WHERE id = :i",
                           {"d": data, "p": prev, "h": h, "i": e.id}))
        prev = h
    statements.append(("UPDATE request SET audit_head = :h WHERE id = :r", {"h": prev, "r": request_id}))
    _tamper(engine, backend, *statements)


def _chain_verifies(engine, request_id) -> bool:
    with session_scope(engine) as session:
        from states.models import Request
        row = session.get(Request, request_id)
        return audit.verify(session, request_id, expected_head=(row.audit_seq, row.audit_head)).ok


def _against(engine, settings):
    return cp.against(engine, cp.SignedHead.read(cp.latest_file(settings.checkpoints_path)),
                      public_hex(_key(settings)))


def _key(settings):
    from audit.signing import load_or_create
    return load_or_create(settings.signing_key_path, create=False)[0]


def test_a_checkpoint_is_signed_written_outside_the_database_and_proves_each_request(client, engine, settings):
    first, second = _lifecycle(client), _lifecycle(client)
    done = take_checkpoint(engine, settings)
    assert (done["number"], done["tree_size"], done["added"]) == (1, 10, 10)
    assert done["key_made"] == str(settings.signing_key_path)
    assert oct(settings.signing_key_path.stat().st_mode & 0o777) == "0o600"
    written = json.loads(Path(done["file"]).read_text(encoding="utf-8"))
    assert set(written) == {"statement", "signature", "public_key"}
    assert json.loads(written["statement"])["root"] == done["root"]
    fields, gone = _against(engine, settings)
    assert (fields["number"], gone) == (1, [])

    again = take_checkpoint(engine, settings)  # nothing new: the last one stands
    assert (again["number"], again["added"], again["key_made"]) == (1, 0, None)

    third = _lifecycle(client)
    later = take_checkpoint(engine, settings)
    assert (later["number"], later["tree_size"], later["added"]) == (2, 15, 5)
    with read_only(engine) as conn:
        one, two = cp.by_number(conn, 1).fields, cp.by_number(conn, 2).fields
        proof = cp.consistency(conn, one, two)
        assert verify_consistency(10, 15, bytes.fromhex(one["root"]), bytes.fromhex(two["root"]),
                                  [bytes.fromhex(p) for p in proof])
        for rid, head_seq in ((first, 5), (second, 5), (third, 5)):
            proved = cp.inclusion(conn, rid, 15)
            head = conn.execute(text("SELECT audit_head FROM request WHERE id = :r"), {"r": rid}).scalar()
            assert (proved.seq, proved.tree_size) == (head_seq, 15)
            assert root_from_inclusion(proved.leaf_index, 15, leaf_hash(bytes.fromhex(head)),
                                       [bytes.fromhex(p) for p in proved.path]).hex() == two["root"]
        # the second request's head was in checkpoint #1 too, at the same leaf
        assert cp.inclusion(conn, second, 10).leaf_index == cp.inclusion(conn, second, 15).leaf_index


def test_a_whole_chain_rewritten_consistently_verifies_alone_but_not_against_the_checkpoint(
        client, engine, db, settings):
    keep, rid = _lifecycle(client), _lifecycle(client)
    take_checkpoint(engine, settings)
    _rewrite_chain(engine, db[2], rid, 5, "disclosed_already_public", "withheld_state_secret")
    assert _chain_verifies(engine, rid) and _chain_verifies(engine, keep)  # the chain alone is fooled
    fields, gone = _against(engine, settings)
    assert gone == [(rid, 5, "event 5 is not as it was at checkpoint #1 (changed or removed)")]


def test_a_deleted_tail_is_caught_against_the_checkpoint_even_with_the_head_moved_back(
        client, engine, db, settings):
    rid = _lifecycle(client)
    take_checkpoint(engine, settings)
    with session_scope(engine) as session:
        fourth = audit.history(session, rid)[3].hash
    _tamper(engine, db[2], ("DELETE FROM audit_event WHERE request_id = :r AND seq = 5", {"r": rid}),
            ("UPDATE request SET audit_seq = 4, audit_head = :h WHERE id = :r", {"h": fourth, "r": rid}))
    assert _chain_verifies(engine, rid)
    assert _against(engine, settings)[1] == [
        (rid, 5, "event 5 is not as it was at checkpoint #1 (changed or removed)")]


def test_a_leaf_log_rewritten_to_match_no_longer_gives_the_signed_root(client, engine, db, settings):
    rid = _lifecycle(client)
    take_checkpoint(engine, settings)
    _rewrite_chain(engine, db[2], rid, 5, "disclosed_already_public", "withheld_state_secret")
    with session_scope(engine) as session:
        new_hash = audit.history(session, rid)[4].hash
    _tamper(engine, db[2], ("UPDATE audit_leaf SET hash = :h WHERE request_id = :r AND seq = 5",
                            {"h": new_hash, "r": rid}), tables=("audit_leaf",))
    with pytest.raises(cp.CheckpointError, match="no longer gives the root of checkpoint #1"):
        _against(engine, settings)
    # and no later checkpoint will paper over it
    _lifecycle(client)
    with pytest.raises(cp.CheckpointError, match="no longer gives the root of checkpoint #1"):
        take_checkpoint(engine, settings)


def test_no_checkpoint_seals_a_chain_that_does_not_verify(client, engine, db, settings):
    rid = _lifecycle(client)
    _tamper(engine, db[2], ("UPDATE audit_event SET actor = 'staff:nobody' WHERE request_id = :r "
                            "AND seq = 4", {"r": rid}))
    with pytest.raises(cp.CheckpointError, match="1 events do not verify") as refused:
        take_checkpoint(engine, settings)
    assert refused.value.broken == [(rid, 4, "event 4 was altered after it was written")]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_leaf")).scalar() == 0


def test_a_checkpoint_from_another_key_or_with_an_edited_statement_is_refused(client, engine, settings):
    _lifecycle(client)
    head = cp.SignedHead.read(Path(take_checkpoint(engine, settings)["file"]))
    other = public_hex(Ed25519PrivateKey.generate())
    with pytest.raises(cp.CheckpointError, match="not by the trusted key"):
        cp.against(engine, head, other)
    edited = cp.SignedHead(head.statement.replace('"tree_size":5', '"tree_size":4'), head.signature,
                           head.public_key)
    with pytest.raises(cp.CheckpointError, match="the signature does not hold"):
        cp.against(engine, edited, head.public_key)


@pytest.mark.parametrize("table", ["audit_leaf", "audit_node", "audit_checkpoint"])
def test_the_checkpoint_tables_are_append_only(client, engine, settings, table, monkeypatch):
    monkeypatch.setattr(cp, "STORED_LEVEL", 1)  # so a small log stores subtrees
    _lifecycle(client)
    take_checkpoint(engine, settings)
    for statement in (f"UPDATE {table} SET hash = 'x'" if table != "audit_checkpoint"
                      else "UPDATE audit_checkpoint SET root = 'x'", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))


def test_stored_subtrees_give_the_same_proofs_as_hashing_every_leaf(client, engine, settings, monkeypatch):
    from audit.merkle import Tree
    monkeypatch.setattr(cp, "STORED_LEVEL", 2)  # subtrees of 4 leaves, so a small log stores some
    rids = [_lifecycle(client) for _ in range(3)]
    take_checkpoint(engine, settings)
    rids.append(_lifecycle(client))
    take_checkpoint(engine, settings)
    with read_only(engine) as conn:
        hashes = cp.leaf_hashes(conn)
        assert conn.execute(text("SELECT count(*) FROM audit_node")).scalar() == 5 + 2 + 1  # 20 leaves: 5 of 4, 2 of 8, 1 of 16
        full = Tree([bytes.fromhex(h) for h in hashes])
        for rid in rids:
            proved = cp.inclusion(conn, rid, len(hashes))
            assert [bytes.fromhex(p) for p in proved.path] == full.inclusion(proved.leaf_index)


def _gongkai(db, settings, *args):
    env = {**os.environ, "GONGKAI_DATABASE_URL": db[1], "GONGKAI_DATA_DIR": str(settings.data_dir),
           "GONGKAI_LOG_JSON": "true"}
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_command_line_signs_checkpoints_and_verify_names_a_request_rewritten_since(
        client, engine, db, settings):
    _lifecycle(client)
    rid = _lifecycle(client)
    taken = _gongkai(db, settings, "audit", "checkpoint")
    assert taken.returncode == 0, taken.stderr
    assert "made the signing key" in taken.stdout and "checkpoint #1: 10 events (10 new events)" in taken.stdout
    key = _gongkai(db, settings, "audit", "public-key")
    assert key.stdout.splitlines()[0] == public_hex(_key(settings))
    fine = _gongkai(db, settings, "audit", "verify")
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "checkpoint #1 (10 events" in fine.stdout and ": holds" in fine.stdout

    _lifecycle(client)
    assert _gongkai(db, settings, "audit", "checkpoint").returncode == 0
    proved = _gongkai(db, settings, "audit", "consistency", "1", "2")
    assert proved.returncode == 0 and "checkpoint #2 (15 events) extends #1 (10 events)" in proved.stdout

    _rewrite_chain(engine, db[2], rid, 5, "disclosed_already_public", "withheld_state_secret")
    caught = _gongkai(db, settings, "audit", "verify")
    assert caught.returncode == 1
    assert "2026-000002: event 5 is not as it was at checkpoint #2 (changed or removed)" in caught.stdout
    assert caught.stdout.strip().splitlines()[-1].endswith(", 0 broken")  # the chains alone pass
    refused = _gongkai(db, settings, "audit", "verify", "--public-key", "ab" * 32)
    assert refused.returncode == 1 and "not by the trusted key" in refused.stdout


def test_removing_the_last_checkpoints_from_the_database_is_refused_against_the_files(
        client, engine, db, settings):
    _lifecycle(client)
    take_checkpoint(engine, settings)
    _lifecycle(client)
    take_checkpoint(engine, settings)
    _tamper(engine, db[2], ("DELETE FROM audit_checkpoint WHERE number = 2", {}),
            tables=("audit_checkpoint",))
    _lifecycle(client)
    with pytest.raises(cp.CheckpointError, match="checkpoint #2, written outside the database, is "
                                                 "missing from it or differs"):
        take_checkpoint(engine, settings)


def test_a_checkpoint_row_forged_with_another_key_is_not_built_upon(client, engine, db, settings):
    _lifecycle(client)
    take_checkpoint(engine, settings)
    forger = Ed25519PrivateKey.generate()
    _tamper(engine, db[2], ("DELETE FROM audit_checkpoint", {}), tables=("audit_checkpoint",))
    for f in settings.checkpoints_path.glob("*.json"):
        f.unlink()  # the files, too, in this worst case
    cp.take(engine, forger)
    _lifecycle(client)
    with pytest.raises(cp.CheckpointError, match="not by the trusted key"):
        take_checkpoint(engine, settings)
