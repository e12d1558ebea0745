"""A legal reviewer takes a request's history home: the export bundle, checked offline by the
standalone verifier with nothing of Gongkai installed, fails if any byte of it was edited."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audit.signing import load_or_create, public_hex
from core.db import session_scope
from replies.service import render_files
from tests.conftest import TODAY, fire, letter_of, new_request
from workflows.checkpoints import take_checkpoint

ROOT = Path(__file__).resolve().parent.parent
VERIFIER = ROOT / "audit" / "offline_verifier.py"


@pytest.fixture
def exported(client, engine, settings, tmp_path):
    """A request registered (登记回执 as HTML, DOCX and PDF), checkpointed, then reviewed."""
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")
    with session_scope(engine) as session:
        render_files(session, letter_of(client, rid, "acknowledgement")["id"],
                     actor="system:dispatch_outbox", on=TODAY)
        session.commit()
    take_checkpoint(engine, settings)
    fire(client, rid, "review", "2026-03-03")
    response = client.get(f"/api/v1/requests/{rid}/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == "attachment; filename*=UTF-8''2026-000001-export.json"
    key = public_hex(load_or_create(settings.signing_key_path, create=False)[0])
    return response.json(), key


def _check(bundle: dict, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run a copy of the verifier alone in an empty folder, isolated from the project (-I)."""
    alone = tmp_path / "reviewer"
    alone.mkdir(exist_ok=True)
    shutil.copyfile(VERIFIER, alone / "offline_verifier.py")
    (alone / "bundle.json").write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return subprocess.run([sys.executable, "-I", "offline_verifier.py", "bundle.json", *args],
                          cwd=alone, capture_output=True, text=True, timeout=60)


def test_the_export_holds_every_event_every_letter_as_sent_and_the_proof(exported, client):
    bundle, _key = exported
    history = client.get("/api/v1/requests/1/history").json()["events"]
    assert [e["seq"] for e in bundle["events"]] == [e["seq"] for e in history] == [1, 2, 3, 4, 5]
    assert [e["event"] for e in bundle["events"]] == ["receive", "register", "issue_letter",
                                                      "render_letter", "review"]
    (letter,) = bundle["letters"]
    assert (letter["kind"], [f["format"] for f in letter["files"]]) == ("acknowledgement",
                                                                        ["html", "docx", "pdf"])
    pdf = base64.b64decode(letter["files"][2]["content_base64"])
    assert pdf.startswith(b"%PDF") and len(pdf) == letter["files"][2]["size"]
    statement = json.loads(bundle["checkpoint"]["statement"])
    assert (statement["number"], statement["tree_size"]) == (1, 4)
    assert bundle["inclusion"]["seq"] == 4 and bundle["inclusion"]["tree_size"] == 4


def test_the_offline_verifier_accepts_the_export_under_the_published_key(exported, tmp_path):
    bundle, key = exported
    checked = _check(bundle, tmp_path, "--public-key", key)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Traceback" not in checked.stderr
    lines = checked.stdout.splitlines()
    assert "✓ 审计链：5 个事件逐一重算哈希，链接完整（事件 1–5）" in lines
    assert "✓ 包含证明：事件 4 在检查点 #1 的默克尔树中（叶子 3）" in lines
    assert lines[-1] == "结论：全部检查通过"


def _edit(bundle: dict, where: str) -> dict:
    """Change one character (one byte of ASCII text) of the bundle at `where`."""
    b = json.loads(json.dumps(bundle))
    flip = {"0": "1", "1": "0"}
    if where == "event data":
        b["events"][0]["data"] = b["events"][0]["data"].replace("in_person", "in_persom", 1)
    elif where == "letter bytes":
        raw = bytearray(base64.b64decode(b["letters"][0]["files"][0]["content_base64"]))
        raw[200] ^= 0x01
        b["letters"][0]["files"][0]["content_base64"] = base64.b64encode(bytes(raw)).decode()
    elif where == "actor":
        b["events"][4]["actor"] = b["events"][4]["actor"][:-1] + "x"
    elif where == "proof path":
        p = b["inclusion"]["path"][0]
        b["inclusion"]["path"][0] = flip.get(p[0], "0") + p[1:]
    elif where == "signature":
        s = b["checkpoint"]["signature"]
        b["checkpoint"]["signature"] = s[:-1] + flip.get(s[-1], "0")
    elif where == "number":
        b["request"]["number"] = "2026-000002"
    elif where == "doc number":
        b["letters"][0]["doc_number"] = b["letters"][0]["doc_number"].replace("1", "2", 1)
    return b


@pytest.mark.parametrize("where", ["event data", "letter bytes", "actor", "proof path", "signature",
                                   "number", "doc number"])
def test_a_bundle_edited_by_one_byte_fails_the_offline_verifier(exported, tmp_path, where):
    bundle, key = exported
    edited = _edit(bundle, where)
    assert edited != bundle
    checked = _check(edited, tmp_path, "--public-key", key)
    assert checked.returncode == 1, (where, checked.stdout)
    assert "Traceback" not in checked.stderr


def test_a_bundle_from_another_deployments_key_fails_when_the_key_is_pinned(exported, tmp_path):
    bundle, _key = exported
    checked = _check(bundle, tmp_path, "--public-key", "ab" * 32)
    assert checked.returncode == 1


def test_the_command_line_writes_the_bundle_and_the_verifier_beside_it(exported, db, settings, tmp_path):
    _bundle, key = exported
    out = tmp_path / "handover" / "2026-000001.json"
    out.parent.mkdir()
    env = {**os.environ, "GONGKAI_DATABASE_URL": db[1], "GONGKAI_DATA_DIR": str(settings.data_dir)}
    made = subprocess.run([sys.executable, "-m", "cli", "audit", "export", "2026-000001", "--out",
                           str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert "5 events, 1 letters; checkpoint #1 covers it up to event 4" in made.stdout
    checked = subprocess.run([sys.executable, "-I", "offline_verifier.py", out.name, "--public-key", key],
                             cwd=out.parent, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
