"""The offline verifier a legal reviewer runs on a locked-down machine: it needs nothing from the
project, accepts the bundle as exported, and names whatever one edited byte broke.

Bundles are built with the project's own hashing (audit.chain) and real Ed25519 keys; the verifier
runs as a subprocess on a copy of its file in an empty directory (`python -I`), as the reviewer would.
The project is installed in the venv (editable), so `-I` alone would not catch a project import:
one run uses `-I -S` (no site-packages at all), and the file's imports are read from its syntax tree.
"""

from __future__ import annotations

import ast
import base64
import copy
import hashlib
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.chain import GENESIS_HASH, canonical_json, event_hash

VERIFIER = Path(__file__).resolve().parents[1] / "audit" / "offline_verifier.py"
REQUEST_ID, NUMBER = 17, "2026-000017"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _load_verifier():
    spec = importlib.util.spec_from_file_location("offline_verifier_under_test", VERIFIER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


V = _load_verifier()


# --- RFC 6962 §2.1, written out as the RFC defines it, independent of the verifier ---

def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)  # the largest power of two smaller than n


def mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _split(len(leaves))
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def audit_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return audit_path(m, leaves[:k]) + [mth(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [mth(leaves[:k])]


# --- building a bundle as the export would ---

def _file(fmt: str, content: bytes) -> dict:
    return {"format": fmt, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content),
            "content_base64": base64.b64encode(content).decode("ascii")}


LETTERS = [
    {"letter_id": 5, "kind": "acknowledgement", "title": "政府信息公开申请登记回执",
     "doc_number": "示政信登〔2026〕1号", "files": [
         _file("html", "<html><body>登记回执 2026-000017 😀</body></html>".encode()),
         _file("pdf", b"%PDF-1.7\n\x00\x01\x02 seal \xff\xfe\n%%EOF")]},
    {"letter_id": 6, "kind": "reply", "title": "政府信息公开申请答复告知书",
     "doc_number": "示政信答〔2026〕1号", "files": [
         _file("html", "<html><body>答复告知书\u0000\u0007\n</body></html>".encode()),
         _file("pdf", b"%PDF-1.7\n reply \n%%EOF")]},
]


def _facts() -> list[tuple]:
    """(event, from_state, to_state, actor, data) for seq 1..8 of request 17."""
    def issued(letter):
        html = letter["files"][0]
        return {"letter_id": letter["letter_id"], "kind": letter["kind"], "title": letter["title"],
                "doc_number": letter["doc_number"], "recipient": "张三", "template": "t.html",
                "template_version": 1, "format": "html", "sha256": html["sha256"],
                "size": html["size"], "html": base64.b64decode(html["content_base64"]).decode()}

    def rendered(letter):
        pdf = letter["files"][1]
        return {"letter_id": letter["letter_id"], "kind": letter["kind"],
                "from_html_sha256": letter["files"][0]["sha256"],
                "files": {"pdf": {"sha256": pdf["sha256"], "size": pdf["size"]}}}
    return [
        ("receive", None, "registered", "staff:li",
         {"number": NUMBER, "channel": "在线", "received_on": "2026-03-02", "due_on": "2026-03-23"}),
        ("register", "registered", "registered", "staff:李", {"note": "含\u0000NUL、\u001f控制符、😀表情"}),
        ("issue_letter", "registered", "registered", "staff:li", issued(LETTERS[0])),
        ("render_letter", "registered", "registered", "system:render", rendered(LETTERS[0])),
        ("review", "registered", "reviewing", "staff:王", {}),
        ("issue_letter", "reviewing", "reviewing", "staff:li", issued(LETTERS[1])),
        ("render_letter", "reviewing", "reviewing", "system:render", rendered(LETTERS[1])),
        ("decide", "reviewing", "decided", "staff:王", {"outcome": "disclosed"}),
    ]


def _events() -> list[dict]:
    events, prev = [], GENESIS_HASH
    for seq, (name, from_state, to_state, actor, data) in enumerate(_facts(), start=1):
        ev = {"request_id": REQUEST_ID, "seq": seq,
              "recorded_at": f"2026-03-0{1 + seq % 8}T01:02:03.00000{seq}+00:00",
              "on": f"2026-03-0{1 + seq % 8}", "actor": actor, "event": name,
              "from_state": from_state, "to_state": to_state, "data": canonical_json(data),
              "prev_hash": prev}
        ev["hash"] = prev = event_hash(**ev)
        events.append(ev)
    return events


def make_bundle(*, covered: int | None = 6, key: Ed25519PrivateKey = KEY, tree_size: int = 37,
                leaf_index: int = 21) -> dict:
    """The export of request 17; its events 1..covered sit among other requests' leaves of a
    `tree_size`-leaf log, event `covered` at `leaf_index`, under checkpoint #3."""
    events = _events()
    bundle = {"format": "gongkai-request-export/1", "request": {"id": REQUEST_ID, "number": NUMBER},
              "events": events, "letters": copy.deepcopy(LETTERS), "checkpoint": None, "inclusion": None}
    if covered is None:
        return bundle
    leaves = [hashlib.sha256(b"other request %d" % i).digest() for i in range(tree_size)]
    for i, ev in enumerate(events[:covered]):  # this request's events, spread through the log
        leaves[leaf_index - 2 * (covered - 1 - i)] = bytes.fromhex(ev["hash"])
    public = _raw(key)
    statement = canonical_json({"format": "gongkai-checkpoint/1", "number": 3, "tree_size": tree_size,
                                "root": mth(leaves).hex(), "signed_at": "2026-03-05T00:00:00+00:00",
                                "key_id": hashlib.sha256(public).hexdigest()[:16]})
    bundle["checkpoint"] = {"statement": statement, "signature": key.sign(statement.encode()).hex(),
                            "public_key": public.hex()}
    bundle["inclusion"] = {"seq": covered, "leaf_index": leaf_index, "tree_size": tree_size,
                           "path": [p.hex() for p in audit_path(leaf_index, leaves)]}
    return bundle


def run(tmp_path: Path, bundle, *args: str, flags: tuple = ("-I",), env: dict | None = None):
    """Run a copy of the verifier alone in `tmp_path`, as the reviewer would; (exit, stdout)."""
    copied = tmp_path / "offline_verifier.py"
    if not copied.exists():
        shutil.copy(VERIFIER, copied)
    path = tmp_path / "bundle.json"
    if isinstance(bundle, bytes):
        path.write_bytes(bundle)
    else:
        path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if k != "GONGKAI_VERIFIER_PURE"}
    proc = subprocess.run([sys.executable, *flags, copied.name, path.name, *args], cwd=tmp_path,
                          capture_output=True, env={**environ, **(env or {})}, timeout=120)
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "内部错误" not in out, out + err
    return proc.returncode, out


def line_with(out: str, phrase: str) -> str:
    lines = [line for line in out.splitlines() if phrase in line]
    assert lines, f"{phrase!r} not in:\n{out}"
    return lines[0]


def _flip_hex(text: str, at: int = 0) -> str:
    return text[:at] + ("1" if text[at] != "1" else "2") + text[at + 1:]


# --- a bundle as exported verifies ---

def test_a_valid_bundle_with_two_letters_a_checkpoint_and_a_proof_verifies(tmp_path):
    code, out = run(tmp_path, make_bundle())
    assert code == 0, out
    assert line_with(out, "审计链").startswith("✓ 审计链：8 个事件逐一重算哈希，链接完整")
    assert line_with(out, "申请编号 2026-000017").startswith("✓")
    assert line_with(out, "文书 5「政府信息公开申请登记回执」").startswith("✓")
    assert "html、pdf 与审计链记录一致（事件 3、4）" in line_with(out, "文书 5")
    assert "html、pdf 与审计链记录一致（事件 6、7）" in line_with(out, "文书 6")
    assert line_with(out, "签名有效").startswith("✓ 检查点 #3（37 个叶子")
    assert "Ed25519：cryptography" in out
    assert "✓ 包含证明：事件 6 在检查点 #3 的默克尔树中（叶子 21）" in out
    assert "事件 7–8（共 2 个）在检查点 #3 之后记入" in out
    fingerprint = hashlib.sha256(_raw(KEY)).hexdigest()[:16]
    assert line_with(out, "请与机关公布的公钥指纹核对").startswith(f"⚠ 公钥指纹 {fingerprint}")
    assert "结论：全部检查通过" in out


def test_with_the_agencys_public_key_given_the_bundle_verifies_without_a_fingerprint_warning(tmp_path):
    code, out = run(tmp_path, make_bundle(), "--public-key", _raw(KEY).hex().upper())
    assert code == 0, out
    assert line_with(out, "公钥与您指定的公钥一致").startswith("✓")
    assert "⚠" not in out


def test_a_bundle_without_checkpoint_passes_with_a_warning_that_it_is_not_anchored(tmp_path):
    code, out = run(tmp_path, make_bundle(covered=None))
    assert code == 0, out
    assert line_with(out, "尚无检查点").startswith("⚠ 尚无检查点：审计链自洽，但未被锚定")


def test_a_checkpoint_covering_the_last_event_leaves_nothing_unanchored(tmp_path):
    code, out = run(tmp_path, make_bundle(covered=8, tree_size=1 + 14, leaf_index=14))
    assert code == 0, out
    assert "✓ 包含证明：事件 8 在检查点 #3 的默克尔树中（叶子 14）" in out
    assert "尚未被检查点覆盖" not in out


def test_the_verifier_needs_nothing_but_the_standard_library(tmp_path):
    # -S: no site-packages at all, so neither the project nor cryptography can be imported.
    code, out = run(tmp_path, make_bundle(), flags=("-I", "-S"))
    assert code == 0, out
    assert "签名有效" in out and "Ed25519：纯 Python RFC 8032" in out
    imported = set()
    for node in ast.walk(ast.parse(VERIFIER.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported - {"cryptography"} <= set(sys.stdlib_module_names) | {"__future__"}


def test_event_hashes_are_byte_identical_to_the_projects_for_awkward_text():
    awkward = ["政府信息公开", "\u0000", "\x01\x1f\x7f", "😀🀄", "\u2028\u2029", "\ufeff", '"\\/</script>',
               "é" + "\u0301", "\U0010ffff", "\r\n\t"]
    for text in awkward:
        ev = {"request_id": 2**62, "seq": 1, "recorded_at": text, "on": "2026-03-02", "actor": text,
              "event": "receive", "from_state": None, "to_state": text,
              "data": canonical_json({"number": text, text: [text, None, -1]}), "prev_hash": GENESIS_HASH}
        assert V.event_hash(ev) == event_hash(**ev), repr(text)


def _python39():
    """An interpreter of the oldest Python the verifier promises to run on, if this machine has one."""
    root = Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser()
    for exe in [shutil.which("python3.9"), *map(str, sorted(root.glob("versions/3.9*/bin/python3")))]:
        if exe and subprocess.run([exe, "-c", "import sys; assert sys.version_info[:2] == (3, 9)"],
                                  capture_output=True).returncode == 0:
            return exe
    return None


@pytest.mark.skipif(_python39() is None, reason="no Python 3.9 on this machine")
def test_the_verifier_runs_on_python_3_9_without_site_packages(tmp_path):
    shutil.copy(VERIFIER, tmp_path / "offline_verifier.py")
    (tmp_path / "bundle.json").write_text(json.dumps(make_bundle(), ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run([_python39(), "-I", "-S", "offline_verifier.py", "bundle.json"], cwd=tmp_path,
                          capture_output=True, timeout=120)
    out = proc.stdout.decode("utf-8")
    assert proc.returncode == 0 and "结论：全部检查通过" in out, out + proc.stderr.decode()


# --- one edited byte, and the verifier names what it broke ---

def _edit_data(b):
    ev = b["events"][1]
    ev["data"] = ev["data"].replace("NUL", "NUM")


def _edit_actor(b):
    b["events"][0]["actor"] = "staff:lj"


def _edit_letter_content(b):
    f = b["letters"][1]["files"][1]
    content = bytearray(base64.b64decode(f["content_base64"]))
    content[10] ^= 0x01
    f["content_base64"] = base64.b64encode(bytes(content)).decode()


def _edit_statement_root(b):
    statement = json.loads(b["checkpoint"]["statement"])
    b["checkpoint"]["statement"] = b["checkpoint"]["statement"].replace(
        statement["root"], _flip_hex(statement["root"], 7))


@pytest.mark.parametrize(("edit", "phrase"), [
    (_edit_data, "事件 2（register）被改动：重算哈希与记录不符"),
    (_edit_actor, "事件 1（receive）被改动：重算哈希与记录不符"),
    (_edit_letter_content, "文书 6「政府信息公开申请答复告知书」（示政信答〔2026〕1号）：pdf 文件内容与其 sha256 不符"),
    (lambda b: b["letters"][0]["files"][0].update(sha256=_flip_hex(b["letters"][0]["files"][0]["sha256"])),
     "文书 5「政府信息公开申请登记回执」（示政信登〔2026〕1号）：html 文件内容与其 sha256 不符"),
    (lambda b: b["inclusion"]["path"].__setitem__(2, _flip_hex(b["inclusion"]["path"][2], 30)),
     "包含证明不成立：事件 6 不在检查点 #3 的默克尔树中"),
    (_edit_statement_root, "检查点 #3（37 个叶子，签署于 2026-03-05T00:00:00+00:00）签名无效"),
    (lambda b: b["checkpoint"].update(signature=_flip_hex(b["checkpoint"]["signature"], 5)),
     "检查点 #3（37 个叶子，签署于 2026-03-05T00:00:00+00:00）签名无效"),
    (lambda b: b["inclusion"].update(leaf_index=20), "包含证明不成立：事件 6 不在检查点 #3 的默克尔树中（叶子 20"),
    (lambda b: b["inclusion"].update(tree_size=38), "包含证明的树大小 38 与检查点 #3 的 37 不符"),
    (lambda b: b["request"].update(number="2026-000018"), "申请编号 2026-000018 与事件 1（receive）记录的编号不符"),
], ids=["event data", "event actor", "letter content", "file sha256", "proof path", "statement root",
        "signature", "leaf_index", "tree_size", "request number"])
def test_a_bundle_with_one_edited_byte_fails_naming_what_was_edited(tmp_path, edit, phrase):
    bundle = make_bundle()
    edit(bundle)
    code, out = run(tmp_path, bundle)
    assert code == 1, out
    assert line_with(out, phrase).startswith("✗"), out
    assert "结论：" in out and "不可信" in out


def test_a_letter_whose_content_was_edited_is_also_no_longer_the_one_the_chain_recorded(tmp_path):
    bundle = make_bundle()
    _edit_letter_content(bundle)
    f = bundle["letters"][1]["files"][1]
    f["sha256"] = hashlib.sha256(base64.b64decode(f["content_base64"])).hexdigest()  # a careful forger
    code, out = run(tmp_path, bundle)
    assert code == 1
    assert "pdf 文件与事件 7 记录的哈希不符" in line_with(out, "✗ 文书 6")


def test_a_letter_file_left_out_of_the_bundle_fails_every_letter_as_sent(tmp_path):
    bundle = make_bundle()
    del bundle["letters"][0]["files"][1]
    code, out = run(tmp_path, bundle)
    assert code == 1
    assert line_with(out, "文书 5 的 pdf 文件在审计链中有记录（事件 4），导出包中却没有").startswith("✗")


def test_a_letter_retitled_after_issue_fails_naming_the_title(tmp_path):
    bundle = make_bundle()
    bundle["letters"][1]["title"] = "政府信息公开申请答复告知书（修改）"
    code, out = run(tmp_path, bundle)
    assert code == 1
    assert "标题与事件 6 的记录不符" in line_with(out, "✗ 文书 6")


def test_a_deleted_last_event_fails_because_the_proved_event_is_gone(tmp_path):
    bundle = make_bundle(covered=8, tree_size=15, leaf_index=14)
    del bundle["events"][-1]  # the rest of the chain is still linked
    code, out = run(tmp_path, bundle)
    assert code == 1, out
    assert "✓ 审计链：7 个事件" in out
    assert line_with(out, "包含证明：导出包中没有它所证明的事件 8").startswith("✗")


def test_a_deleted_last_event_with_the_proof_pointed_at_the_new_last_fails_on_the_leaf(tmp_path):
    bundle = make_bundle(covered=8, tree_size=15, leaf_index=14)
    del bundle["events"][-1]
    bundle["inclusion"]["seq"] = 7
    code, out = run(tmp_path, bundle)
    assert code == 1, out
    assert line_with(out, "包含证明不成立：事件 7").startswith("✗")


def test_a_deleted_middle_event_fails_naming_the_gap(tmp_path):
    bundle = make_bundle()
    del bundle["events"][4]
    code, out = run(tmp_path, bundle)
    assert code == 1, out
    assert line_with(out, "事件 5 缺失：事件 4 之后紧接着是事件 6").startswith("✗")


def test_an_event_relinked_after_an_edit_breaks_the_next_link(tmp_path):
    bundle = make_bundle(covered=None)
    ev = bundle["events"][2]
    ev["actor"] = "staff:forger"
    ev["hash"] = event_hash(**{k: v for k, v in ev.items() if k != "hash"})
    code, out = run(tmp_path, bundle)
    assert code == 1
    assert line_with(out, "事件 4（render_letter）未链接到事件 3").startswith("✗")


def test_a_checkpoint_signed_by_another_key_than_the_one_given_fails(tmp_path):
    code, out = run(tmp_path, make_bundle(key=OTHER_KEY), "--public-key", _raw(KEY).hex())
    assert code == 1, out
    assert line_with(out, "检查点由另一把密钥签名").startswith("✗")
    assert "签名有效" in out  # valid under its own key: only the key is wrong


def test_a_checkpoint_whose_key_id_is_not_its_keys_fingerprint_fails(tmp_path):
    bundle = make_bundle()
    bundle["checkpoint"]["public_key"] = _raw(OTHER_KEY).hex()
    code, out = run(tmp_path, bundle)
    assert code == 1
    assert line_with(out, "签名无效").startswith("✗")
    assert line_with(out, "与所附公钥的指纹").startswith("✗ 检查点声明的密钥编号")


# --- the pure-Python Ed25519 fallback ---

def test_the_pure_python_fallback_verifies_a_valid_bundle_and_rejects_a_bad_signature(tmp_path):
    code, out = run(tmp_path, make_bundle(), env={"GONGKAI_VERIFIER_PURE": "1"})
    assert code == 0, out
    assert "签名有效" in out and "Ed25519：纯 Python RFC 8032" in out
    bundle = make_bundle()
    bundle["checkpoint"]["signature"] = _flip_hex(bundle["checkpoint"]["signature"], 100)
    code, out = run(tmp_path, bundle, env={"GONGKAI_VERIFIER_PURE": "1"})
    assert code == 1
    assert "签名无效" in line_with(out, "Ed25519：纯 Python RFC 8032")


def _cryptography_says(public: bytes, message: bytes, signature: bytes) -> bool:
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def test_the_pure_python_fallback_agrees_with_cryptography_on_valid_and_invalid_signatures():
    q = 2**252 + 27742317777372353535851937790883648493
    for i in range(12):
        key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"key %d" % i).digest())
        public = _raw(key)
        message = ("检查点 %d \u0000 😀" % i).encode() * i
        signature = key.sign(message)
        s = int.from_bytes(signature[32:], "little")
        cases = [(public, message, signature),
                 (public, message + b"!", signature),
                 (public, message, signature[:i] + bytes([signature[i] ^ 0x40]) + signature[i + 1:]),
                 (public, message, signature[:32] + (s + q).to_bytes(32, "little")),  # malleated s
                 (_raw(OTHER_KEY), message, signature),
                 (public[:31] + bytes([public[31] ^ 0x80]), message, signature)]
        for case in cases:
            assert V.pure_ed25519_verify(*case) == _cryptography_says(*case), (i, case)
            assert V.ed25519_verify(*case, pure=True) == (_cryptography_says(*case), "纯 Python RFC 8032")
        assert V.pure_ed25519_verify(public, message, signature) is True


# --- the inclusion proof, checked against RFC 6962's own definitions ---

def test_every_leaf_of_every_tree_up_to_70_leaves_verifies_and_a_wrong_index_does_not():
    all_leaves = [hashlib.sha256(b"leaf %d" % i).digest() for i in range(71)]
    for size in range(1, 71):
        leaves = all_leaves[:size]
        root = mth(leaves)
        for index in range(size):
            path = audit_path(index, leaves)
            assert V.verify_inclusion(leaves[index], index, size, path, root), (size, index)
            assert not V.verify_inclusion(leaves[index], index, size, path + [root], root)
            assert not V.verify_inclusion(leaves[index], index, size, path, mth(all_leaves[:size + 1]))
            assert not V.verify_inclusion(all_leaves[size], index, size, path, root)
            if size > 1:
                assert not V.verify_inclusion(leaves[index], (index + 1) % size, size, path, root)
                assert not V.verify_inclusion(leaves[index], index, size, path[:-1], root)
    assert not V.verify_inclusion(all_leaves[0], 0, 0, [], mth([]))
    assert not V.verify_inclusion(all_leaves[0], -1, 5, [], mth(all_leaves[:5]))


# --- hostile bundles: a sentence and exit 2 (unreadable) or 1 (fails), never a traceback ---

def _hostile(edit):
    bundle = make_bundle()
    edit(bundle)
    return bundle


@pytest.mark.parametrize(("bundle", "code", "phrase"), [
    (b"not json", 2, "不是有效的 JSON"),
    (b"\xff\xfe{}", 2, "不是 UTF-8"),
    (b"[]", 2, "导出包应为 JSON 对象"),
    (b"[" * 100_000, 2, "不是有效的 JSON"),
    (b'{"format": 1' + b"0" * 5000 + b"}", 2, "不是有效的 JSON"),
    (b'{"format": "a", "format": "b"}', 2, "重复的键 'format'"),
    (_hostile(lambda b: b.update(extra=1)), 2, "导出包有未知字段 extra"),
    (_hostile(lambda b: b["events"][3].update(note="x")), 2, "events[3] 有未知字段 note"),
    (_hostile(lambda b: b["letters"][0]["files"][0].pop("size")), 2, "letters[0].files[0] 缺少字段 size"),
    (_hostile(lambda b: b.update(format="gongkai-request-export/2")), 2, "字段 format 应为 gongkai-request-export/1"),
    (_hostile(lambda b: b["events"][0].update(seq=10**30)), 2, "字段 events[0].seq 应为整数"),
    (_hostile(lambda b: b["events"][0].update(seq=True)), 2, "字段 events[0].seq 应为整数"),
    (_hostile(lambda b: b["request"].update(id="17")), 2, "字段 request.id 应为整数"),
    (_hostile(lambda b: b.update(events={})), 2, "字段 events 应为 JSON 数组"),
    (_hostile(lambda b: b["inclusion"]["path"].__setitem__(0, "zz" * 32)), 2, "字段 inclusion.path[0] 应为 64 位"),
    (_hostile(lambda b: b["checkpoint"].update(signature="ab")), 2, "字段 checkpoint.signature 应为 128 位"),
    (_hostile(lambda b: b.update(checkpoint=None)), 2, "checkpoint 与 inclusion 须同时为 null"),
    (_hostile(lambda b: b["inclusion"].update(leaf_index=-1)), 1, "包含证明不成立"),
    (_hostile(lambda b: b["inclusion"].update(tree_size=0)), 1, "包含证明的树大小 0"),
    (_hostile(lambda b: b["inclusion"]["path"].extend(["00" * 32] * 200)), 1, "包含证明不成立"),
    (_hostile(lambda b: b["inclusion"].update(seq=-5)), 1, "没有它所证明的事件 -5"),
    (b'{"format":\x00}', 2, "不是有效的 JSON"),
    (_hostile(lambda b: b["events"][1].update(event="register\u0000\x1b[31m")), 1,
     "事件 2（register\\x00\\x1b[31m）被改动"),
    (_hostile(lambda b: b["events"][2].update(data="{not json")), 1, "事件 3（issue_letter）的 data 无法读出文书记录"),
    (_hostile(lambda b: b["letters"][0]["files"][0].update(content_base64="!!!\u0000")), 1, "base64 内容无法解码"),
    (_hostile(lambda b: b["checkpoint"].update(statement="{}")), 1, "检查点声明无效"),
    (_hostile(lambda b: b["checkpoint"].update(statement="[1, 2]")), 1, "检查点声明无效"),
    (_hostile(lambda b: b["events"].clear()), 1, "导出包中没有任何事件"),
])
def test_a_hostile_bundle_gets_a_message_and_no_traceback(tmp_path, bundle, code, phrase):
    got, out = run(tmp_path, bundle)
    assert got == code, out
    assert line_with(out, phrase).startswith("✗"), out
    assert "\x1b" not in out and "\x00" not in out


def test_a_lone_surrogate_in_a_field_is_unreadable(tmp_path):
    text = json.dumps(make_bundle()).replace('"staff:li"', '"staff:\\ud800"', 1)
    code, out = run(tmp_path, text.encode())
    assert code == 2
    assert "字段 events[0].actor 含有无法编码为 UTF-8 的字符" in out


def test_a_missing_file_and_a_malformed_public_key_are_reported_without_a_traceback(tmp_path):
    copied = tmp_path / "offline_verifier.py"
    shutil.copy(VERIFIER, copied)
    proc = subprocess.run([sys.executable, "-I", copied.name, "nowhere.json"], cwd=tmp_path,
                          capture_output=True, timeout=60)
    assert proc.returncode == 2 and "无法打开文件" in proc.stdout.decode()
    code, out = run(tmp_path, make_bundle(), "--public-key", "not-hex")
    assert code == 2 and "--public-key 应为 64 位十六进制" in out


HOSTILE_VALUES = [None, True, -1, 0, 2**63, 10**30, 1.5, "", "zz", "\u0000\x1b[2J", "\ud800", "0" * 64,
                  [], {}, [None], {"x": 1}, "[" * 5000, '{"letter_id": "5"}', '{"letter_id": 5, "files": [1]}',
                  '{"letter_id": 5, "files": {"pdf": 1}}', '{"letter_id": 5, "format": null}', '{"number": 1}']


def test_any_value_replaced_anywhere_gives_exit_0_1_or_2_and_never_raises(tmp_path, capsys):
    rng, path = random.Random(20260302), tmp_path / "fuzzed.json"
    for _ in range(400):
        bundle = make_bundle()
        if rng.random() < 0.3:  # an event's facts, which the letter and number checks parse
            parent, key = rng.choice(bundle["events"]), "data"
        else:  # any value at any depth
            parent, key = bundle, rng.choice(sorted(bundle))
            while isinstance(parent[key], (dict, list)) and parent[key] and rng.random() < 0.8:
                parent = parent[key]
                key = rng.choice(sorted(parent) if isinstance(parent, dict) else range(len(parent)))
        parent[key] = rng.choice(HOSTILE_VALUES)
        path.write_text(json.dumps(bundle), encoding="utf-8")
        assert V.main([str(path)]) in (0, 1, 2), (key, parent[key])
        assert "\x1b" not in capsys.readouterr().out
