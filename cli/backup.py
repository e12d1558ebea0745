"""`gongkai backup DIR` and `gongkai restore DIR` (备份与恢复): a consistent copy taken while the
service runs, and a restore that refuses any copy that does not verify.

A backup folder holds the database (SQLite's online backup API: one step, one read snapshot,
writers go on), the archive folder (each request's archived letters, as zip), every signed
checkpoint file, the public key, and MANIFEST.json with the SHA-256 of each file. A fresh
checkpoint is taken first, so the copy is anchored as of the backup.

Restore checks, on a scratch copy and before touching anything: the manifest's hashes, every
request's chain and the access log, the copy against its latest checkpoint under the trusted key,
and each archive file against the SHA-256 its request's history recorded. Only then does the
database file move into place (the one it replaces is kept beside it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from audit import checkpoint as cp
from core.config import Settings
from core.db import make_engine, read_only

FORMAT = "gongkai-backup/1"
DATABASE = "gongkai.db"


class BackupError(Exception):
    """The backup cannot be taken or the copy cannot be restored; the message says why."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_tree(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.tmp"))


def _sqlite_path(engine: Engine) -> Path:
    return Path(make_url(str(engine.url)).database)


def _pg_dump(engine: Engine, target: Path) -> None:
    url = make_url(engine.url.render_as_string(hide_password=False)).set(drivername="postgresql")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not installed (Debian: postgresql-client); see the README's recipe")
    # A deployment kept in a schema of its own (options=-csearch_path=…) dumps that schema.
    options = url.query.get("options", "")
    schema = [f"--schema={o.split('=', 1)[1]}" for o in str(options).split() if o.startswith("-csearch_path=")]
    done = subprocess.run([pg_dump, "--format=custom", f"--file={target}", *schema,
                           url.render_as_string(hide_password=False)], capture_output=True, text=True)
    if done.returncode:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[-500:]}")


def backup(engine: Engine, settings: Settings, dest: Path, *,
           take_checkpoint: Callable[[], dict] | None = None) -> dict:
    """Copy everything a restore needs into the new folder `dest`; returns the manifest."""
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: a backup goes into a new folder")
    anchored = take_checkpoint() if take_checkpoint else None
    dest.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        database = DATABASE
        source = sqlite3.connect(_sqlite_path(engine), timeout=settings.sqlite_busy_timeout_ms / 1000)
        target = sqlite3.connect(dest / database)
        try:
            source.backup(target)  # all pages in one step: one snapshot however busy the service is
        finally:
            target.close()
            source.close()
    else:
        database = "gongkai.pgdump"
        _pg_dump(engine, dest / database)
    _copy_tree(settings.data_dir / "archive", dest / "archive")
    _copy_tree(settings.checkpoints_path, dest / "checkpoints")
    if settings.signing_key_path.exists():
        from audit.signing import load_or_create, public_hex
        (dest / "public-key.txt").write_text(
            public_hex(load_or_create(settings.signing_key_path, create=False)[0]) + "\n")
    files = {str(p.relative_to(dest)): _sha256(p) for p in sorted(dest.rglob("*")) if p.is_file()}
    latest = cp.latest_file(dest / "checkpoints")
    manifest = {"format": FORMAT, "taken_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "database": database, "dialect": engine.dialect.name,
                "checkpoint": str(latest.relative_to(dest)) if latest else None,
                "checkpoint_number": anchored["number"] if anchored else None, "files": files}
    (dest / "MANIFEST.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                        encoding="utf-8")
    return manifest


def _archives_attested(engine: Engine, folder: Path) -> list[str]:
    """Archive files whose bytes are not what their request's history says was archived."""
    problems = []
    with read_only(engine) as conn:
        recorded = dict(conn.execute(text(
            "SELECT r.number, e.data FROM audit_event e JOIN request r ON r.id = e.request_id "
            "WHERE e.event = 'export_archive' ORDER BY e.request_id, e.seq")).all())
    for path in sorted(folder.glob("*.zip")) if folder.is_dir() else []:
        data = recorded.get(path.stem)
        if data is None:
            problems.append(f"archive/{path.name}: no request's history records it")
        elif json.loads(data)["sha256"] != _sha256(path):
            problems.append(f"archive/{path.name}: not the bytes its request's history records")
    return problems


def check_copy(folder: Path, trusted_key: str | None,
               verify_chains: Callable[[Engine], list[str]]) -> tuple[dict, list[str], Path | None]:
    """(manifest, problems, scratch database) of a SQLite backup folder; the scratch copy is
    left for the caller to move into place or delete."""
    try:
        manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
        files, database = manifest["files"], manifest["database"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{folder} is not a Gongkai backup (MANIFEST.json: {exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder}/MANIFEST.json is not a {FORMAT} manifest")
    if manifest.get("dialect") != "sqlite":
        raise BackupError("a PostgreSQL backup is restored with pg_restore (README: Backup and restore)")
    problems = []
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - {"MANIFEST.json"}
    for name in sorted(set(files) | present):
        if name not in files:
            problems.append(f"{name}: not in the manifest")
        elif name not in present:
            problems.append(f"{name}: listed in the manifest but missing")
        elif _sha256(folder / name) != files[name]:
            problems.append(f"{name}: its SHA-256 is not the manifest's")
    if database not in present:
        return manifest, problems, None
    scratch = Path(f"{folder / database}.checking")
    # Checked on a copy: opening the backup itself would add journal files beside it.
    shutil.copyfile(folder / database, scratch)
    engine = make_engine(f"sqlite:///{scratch}")
    try:
        problems += verify_chains(engine)
        latest = folder / manifest["checkpoint"] if manifest.get("checkpoint") else None
        if latest is None:
            problems.append("the backup holds no checkpoint: nothing anchors its history")
        else:
            try:
                fields, gone = cp.against(engine, cp.SignedHead.read(latest), trusted_key)
                with read_only(engine) as conn:
                    numbers = dict(conn.execute(text("SELECT id, number FROM request")).all()) if gone else {}
                problems += [f"{numbers.get(rid, f'request {rid}')}: {why}" for rid, _seq, why in gone]
            except cp.CheckpointError as exc:
                problems.append(f"checkpoint: {exc}")
        problems += _archives_attested(engine, folder / "archive")
    except DBAPIError as exc:  # not a database, or not one of ours
        problems.append(f"{database}: cannot be read as a Gongkai database ({exc.orig})")
    except Exception:
        scratch.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    return manifest, problems, scratch


def restore(folder: Path, settings: Settings, trusted_key: str | None, *, replace: bool,
            verify_chains: Callable[[Engine], list[str]]) -> dict:
    """Put a backup back under `settings` if, and only if, it verifies."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError("restore puts a SQLite backup back; PostgreSQL: pg_restore (README)")
    target = Path(url.database)
    if not (folder / "MANIFEST.json").is_file():
        raise BackupError(f"{folder} is not a Gongkai backup: it holds no MANIFEST.json")
    if target.exists() and not replace:
        raise BackupError(f"{target} exists: pass --replace to keep it aside and restore over it")
    manifest, problems, scratch = check_copy(folder, trusted_key, verify_chains)
    if problems:
        if scratch:
            scratch.unlink(missing_ok=True)
        raise BackupError("the copy does not verify, nothing was restored:\n  " + "\n  ".join(problems[:50]))
    target.parent.mkdir(parents=True, exist_ok=True)
    kept = None
    if target.exists():
        kept = target.with_name(f"{target.name}.before-restore-{dt.datetime.now():%Y%m%d%H%M%S}")
        os.replace(target, kept)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(scratch, target)
    for sub, where in (("archive", settings.data_dir / "archive"), ("checkpoints", settings.checkpoints_path)):
        for path in sorted((folder / sub).glob("*")) if (folder / sub).is_dir() else []:
            where.mkdir(parents=True, exist_ok=True)
            if not (where / path.name).exists():
                shutil.copyfile(path, where / path.name)
    return {"database": str(target), "kept": str(kept) if kept else None,
            "checkpoint": manifest.get("checkpoint"), "taken_at": manifest.get("taken_at")}
