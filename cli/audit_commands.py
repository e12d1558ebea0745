"""`gongkai audit …`: verify every chain and the latest checkpoint, take a checkpoint, prove two
checkpoints consistent, show the public key, export a request's history for offline checking."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import typer

audit_app = typer.Typer(help="The audit chain and its signed checkpoints.", no_args_is_help=True)

_PUBLIC_KEY = typer.Option(None, "--public-key", metavar="HEX", help="the agency's published "
                           "checkpoint key (64 hex digits); default: the key of this deployment's "
                           "signing key file")


def _trusted_key(given: str | None) -> str | None:
    from audit import signing
    from core.config import get_settings

    if given is not None:
        if len(given) != 64 or any(c not in "0123456789abcdef" for c in given.lower()):
            raise typer.BadParameter("--public-key: expected 64 hex digits (a raw Ed25519 key)")
        return given.lower()
    path = get_settings().signing_key_path
    if not path.exists():
        return None
    try:
        return signing.public_hex(signing.load_or_create(path, create=False)[0])
    except signing.SigningKeyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _numbers(engine, request_ids) -> dict[int, str]:
    from sqlalchemy import bindparam, text

    from core.db import read_only

    ids = sorted(set(request_ids))
    with read_only(engine) as conn:
        rows = conn.execute(text("SELECT id, number FROM request WHERE id IN :ids")
                            .bindparams(bindparam("ids", expanding=True)), {"ids": ids}).all() if ids else []
    return dict(rows)


def _check_checkpoint(engine, checkpoint_file: Path | None, trusted: str | None) -> tuple[bool, list[str]]:
    """Check the log against the latest checkpoint written outside the database (or the given
    file): (holds or there is none yet, the lines to print)."""
    from audit import checkpoint as cp
    from core.config import get_settings
    from core.db import read_only

    path = checkpoint_file or cp.latest_file(get_settings().checkpoints_path)
    try:
        if path is not None:
            head, where = cp.SignedHead.read(path), str(path)
        else:
            with read_only(engine) as conn:
                head = cp.latest(conn)
            if head is None:
                return True, ["no checkpoint yet: `gongkai audit checkpoint` signs the first"]
            where = "the database's own copy (no checkpoint file was found outside it)"
        started = time.perf_counter()
        fields, gone = cp.against(engine, head, trusted)
        seconds = time.perf_counter() - started
    except cp.CheckpointError as exc:
        return False, [f"checkpoint: {exc}"]
    numbers = _numbers(engine, [rid for rid, _, _ in gone])
    lines = [f"{numbers.get(rid, f'request {rid}')}: {reason}" for rid, _seq, reason in gone]
    pinned = "" if trusted else " (key not pinned: compare its fingerprint with the published one)"
    lines.append(f"checkpoint #{fields['number']} ({fields['tree_size']} events, signed "
                 f"{fields['signed_at']}, key {fields['key_id']}{pinned}) from {where}: "
                 + (f"{len(gone)} requests changed since" if gone else "holds")
                 + f" ({seconds:.1f} s)")
    return not gone, lines


@audit_app.command("verify")
def audit_verify(checkpoint_file: Path | None = typer.Option(
                     None, "--checkpoint", help="a checkpoint file (default: the latest in "
                     "GONGKAI_CHECKPOINT_DIR)"),
                 public_key: str | None = _PUBLIC_KEY) -> None:
    """Recompute every request's hash chain in one ordered pass (Rich progress bar), name each
    broken request and its first broken event, check the access log, then check the log against
    the latest signed checkpoint; exit 1 on any break."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    import audit
    from cli.verify import count_events, verify_database, worker_pool
    from core.db import get_engine, session_scope

    trusted = _trusted_key(public_key)
    engine, started = get_engine(), time.perf_counter()
    # The checkpoint check runs beside the chain pass: this process only waits on the workers
    # meanwhile, so the two share the cores instead of taking turns. The workers start first,
    # while this process has one thread (cli/verify.py `worker_pool`).
    with worker_pool() as pool, ThreadPoolExecutor(1) as beside:
        checked = beside.submit(_check_checkpoint, engine, checkpoint_file, trusted)
        with Progress(TextColumn("verifying chains"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn()) as bar:
            task = bar.add_task("events", total=count_events(engine))
            tally, broken = verify_database(
                engine, pool=pool, progress=lambda n: bar.advance(task, n),
                on_broken=lambda name, b: bar.console.print(
                    f"{name}: broken at event {b.first_broken_seq}: {b.reason}"))
        seconds = time.perf_counter() - started
        holds, lines = checked.result()
    total = time.perf_counter() - started
    with session_scope() as session:
        access = audit.verify_access(session)
    if not access.ok:
        typer.echo(f"access log: broken at event {access.first_broken_seq}: {access.reason}")
    for line in lines:
        typer.echo(line)
    rate = tally.events / seconds if seconds else 0
    typer.echo(f"{tally.chains} requests, {tally.events} events checked in {seconds:.1f} s "
               f"({rate:,.0f} events/s; {total:.1f} s with the checkpoint check beside it), "
               f"{len(broken)} broken")
    raise typer.Exit(1 if broken or not access.ok or not holds else 0)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the Merkle root over every audit event now (what the daily checkpoint_audit flow
    does) and write it to GONGKAI_CHECKPOINT_DIR; refuses, naming them, if chains do not verify."""
    from rich.progress import Progress

    from audit.checkpoint import CheckpointError
    from audit.signing import SigningKeyError
    from core.config import get_settings
    from core.db import get_engine
    from workflows.checkpoints import take_checkpoint

    engine = get_engine()
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("hashing the tree", total=None)
            done = take_checkpoint(engine, get_settings(), progress=lambda n: bar.advance(task, n))
    except SigningKeyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except CheckpointError as exc:
        numbers = _numbers(engine, [rid for rid, _, _ in exc.broken])
        for rid, _seq, reason in exc.broken[:50]:
            typer.echo(f"{numbers.get(rid, f'request {rid}')}: {reason}", err=True)
        typer.echo(f"no checkpoint taken: {exc}", err=True)
        raise typer.Exit(1) from None
    if done["key_made"]:
        typer.echo(f"made the signing key {done['key_made']} (key {done['key_id']}): keep it "
                   "where the database's administrators cannot write, publish the public key")
    what = f"{done['added']} new events" if done["added"] else "no new events since"
    typer.echo(f"checkpoint #{done['number']}: {done['tree_size']} events ({what}), root "
               f"{done['root']}, key {done['key_id']}, written to {done['file']}")


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the checkpoint signing key's public half and fingerprint, for the agency to publish
    (legal reviewers pin it with --public-key)."""
    from audit.signing import key_id

    key = _trusted_key(None)
    if key is None:
        typer.echo("no signing key yet: `gongkai audit checkpoint` makes one", err=True)
        raise typer.Exit(1)
    typer.echo(f"{key}\nfingerprint (key_id) {key_id(key)}")


def _head(number: int):
    from audit import checkpoint as cp
    from core.config import get_settings
    from core.db import get_engine, read_only

    path = get_settings().checkpoints_path / f"checkpoint-{number:06d}.json"
    if path.exists():
        return cp.SignedHead.read(path)
    with read_only(get_engine()) as conn:
        head = cp.by_number(conn, number)
    if head is None:
        typer.echo(f"no checkpoint #{number}", err=True)
        raise typer.Exit(2)
    return head


@audit_app.command("consistency")
def audit_consistency(old: int = typer.Argument(..., min=1, max=2**31 - 1),
                      new: int = typer.Argument(..., min=1, max=2**31 - 1),
                      public_key: str | None = _PUBLIC_KEY) -> None:
    """Prove checkpoint NEW extends checkpoint OLD (RFC 6962 consistency proof): nothing covered
    by OLD was changed or removed before NEW was signed. Prints the proof; exit 1 if it fails."""
    from audit import checkpoint as cp
    from audit.merkle import verify_consistency
    from core.db import get_engine, read_only

    trusted = _trusted_key(public_key)
    try:
        a, b = _head(old).check(trusted), _head(new).check(trusted)
        if a["tree_size"] > b["tree_size"]:
            raise cp.CheckpointError(f"#{old} covers more events than #{new}")
        with read_only(get_engine()) as conn:
            proof = cp.consistency(conn, a, b)
    except (cp.CheckpointError, ValueError) as exc:
        typer.echo(f"not proved: {exc}")
        raise typer.Exit(1) from None
    ok = verify_consistency(a["tree_size"], b["tree_size"], bytes.fromhex(a["root"]),
                            bytes.fromhex(b["root"]), [bytes.fromhex(p) for p in proof])
    typer.echo(json.dumps({"old": a, "new": b, "proof": proof}, ensure_ascii=False, indent=1))
    typer.echo(f"checkpoint #{new} ({b['tree_size']} events) "
               + (f"extends #{old} ({a['tree_size']} events): proved with {len(proof)} hashes"
                  if ok else f"does NOT extend #{old}: history covered by #{old} was rewritten"))
    raise typer.Exit(0 if ok else 1)


@audit_app.command("export")
def audit_export(number: str = typer.Argument(..., help="the request's number, e.g. 2026-000123"),
                 out: Path = typer.Option(None, help="the bundle file (default: NUMBER-export.json)")) -> None:
    """Write a request's history for offline checking — events, every letter as sent, the latest
    checkpoint and the inclusion proof — and the standalone verifier beside it."""
    import shutil

    from sqlmodel import select

    from core.db import session_scope
    from replies import export
    from states.models import Request

    with session_scope() as session:
        row = session.exec(select(Request).where(Request.number == number)).first()
        if row is None:
            typer.echo(f"no request numbered {number}", err=True)
            raise typer.Exit(2)
        body = export.bundle(session, row)
    out = out or Path(f"{number}-export.json")
    out.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    verifier = out.parent / "offline_verifier.py"
    shutil.copyfile(Path(__file__).resolve().parent.parent / "audit" / "offline_verifier.py", verifier)
    anchored = (f"checkpoint #{json.loads(body['checkpoint']['statement'])['number']} covers it up to "
                f"event {body['inclusion']['seq']}" if body["checkpoint"] else
                "no checkpoint covers it yet (`gongkai audit checkpoint`)")
    typer.echo(f"{out}: {len(body['events'])} events, {len(body['letters'])} letters; {anchored}.\n"
               f"Check it anywhere: python3 {verifier} {out} --public-key <the agency's published key>")
