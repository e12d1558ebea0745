"""Offline verifier for a Gongkai request export (gongkai-request-export/1).

A legal reviewer copies this one file onto a machine with no network and no Gongkai install and runs

    python3 offline_verifier.py BUNDLE.json [--public-key HEX]

It recomputes every audit event's hash and the links between them, checks every letter file
against the audit event that recorded it as sent, and checks the signed checkpoint and the Merkle
inclusion proof (RFC 9162 §2.1.3.2) that anchor the chain in the agency's published log. It prints
one line per check, in Chinese, and exits 0 (all passed), 1 (a check failed) or 2 (unreadable).

Standard library only, Python >= 3.9, nothing imported from the project: the reviewer need trust
only this file. Ed25519 is checked with `cryptography` if importable, otherwise (or with
GONGKAI_VERIFIER_PURE=1) with the RFC 8032 §6 reference code.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys

EXPORT_FORMAT, CHECKPOINT_FORMAT = "gongkai-request-export/1", "gongkai-checkpoint/1"
GENESIS_HASH = "0" * 64
HASHED = ("request_id", "seq", "recorded_at", "on", "actor", "event", "from_state", "to_state",
          "data", "prev_hash")
# Every object must have exactly these keys; ("?", shape) may also be null.
EVENT = {"request_id": "int", "seq": "int", "recorded_at": "str", "on": "str", "actor": "str",
         "event": "str", "from_state": ("?", "str"), "to_state": "str", "data": "str",
         "prev_hash": "hex64", "hash": "hex64"}
FILE = {"format": "str", "sha256": "hex64", "size": "int", "content_base64": "str"}
LETTER = {"letter_id": "int", "kind": "str", "title": "str", "doc_number": "str", "files": [FILE]}
BUNDLE = {"format": "str", "request": {"id": "int", "number": "str"}, "events": [EVENT],
          "letters": [LETTER],
          "checkpoint": ("?", {"statement": "str", "signature": "hex128", "public_key": "hex64"}),
          "inclusion": ("?", {"seq": "int", "leaf_index": "int", "tree_size": "int",
                              "path": ["hex64"]})}
STATEMENT = {"format": "str", "number": "int", "tree_size": "int", "root": "hex64",
             "signed_at": "str", "key_id": "hex16"}


class Unreadable(Exception):
    """The bundle is not a well-formed export; the message names the field."""


def canonical_json(value) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def event_hash(event: dict) -> str:
    return hashlib.sha256(canonical_json({k: event[k] for k in HASHED})).hexdigest()


def _unique_keys(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:  # parsers disagree on which of the two wins: refuse to pick one
            raise ValueError(f"重复的键 {key!r}")
        seen.add(key)
    return dict(pairs)


def strict_loads(text: str):
    return json.loads(text, object_pairs_hook=_unique_keys)


def _show(text: str, limit: int = 60) -> str:
    # Bundle text is untrusted: escape anything that could move the cursor or recolour the terminal.
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def _check(value, shape, where: str):
    field = f"字段 {where} " if where else "导出包"
    if isinstance(shape, tuple):
        return None if value is None else _check(value, shape[1], where)
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            raise Unreadable(f"{field}应为 JSON 对象")
        unknown, missing = sorted(value.keys() - shape.keys()), sorted(shape.keys() - value.keys())
        if unknown:
            raise Unreadable(f"{field}有未知字段 {'、'.join(_show(k) for k in unknown)}")
        if missing:
            raise Unreadable(f"{field}缺少字段 {'、'.join(missing)}")
        for key, sub in shape.items():
            _check(value[key], sub, f"{where}.{key}" if where else key)
    elif isinstance(shape, list):
        if not isinstance(value, list):
            raise Unreadable(f"{field}应为 JSON 数组")
        for i, item in enumerate(value):
            _check(item, shape[0], f"{where}[{i}]")
    elif shape == "int":  # 64-bit, as the database holds them; and a bool is no integer here
        if type(value) is not int or not -2**63 <= value < 2**63:
            raise Unreadable(f"{field}应为整数（64 位以内）")
    elif shape.startswith("hex"):
        digits = int(shape[3:])
        if not isinstance(value, str) or len(value) != digits or value.strip("0123456789abcdef"):
            raise Unreadable(f"{field}应为 {shape[3:]} 位小写十六进制")
    elif not isinstance(value, str):
        raise Unreadable(f"{field}应为字符串")
    elif not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800" in the JSON) cannot be hashed
            raise Unreadable(f"{field}含有无法编码为 UTF-8 的字符") from None
    return value


def read_bundle(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise Unreadable(f"无法打开文件：{exc.strerror or exc}") from None
    try:
        bundle = strict_loads(raw.decode("utf-8-sig"))  # -sig: Windows editors add a BOM
    except UnicodeDecodeError:
        raise Unreadable("文件不是 UTF-8 文本") from None
    except (ValueError, RecursionError) as exc:
        raise Unreadable(f"不是有效的 JSON（{_show(str(exc), 120)}）") from None
    _check(bundle, BUNDLE, "")
    if bundle["format"] != EXPORT_FORMAT:
        raise Unreadable(f"字段 format 应为 {EXPORT_FORMAT}，而不是 {_show(bundle['format'])}")
    if (bundle["checkpoint"] is None) != (bundle["inclusion"] is None):
        raise Unreadable("字段 checkpoint 与 inclusion 须同时为 null 或同时存在")
    return bundle


def _data(event: dict) -> dict:
    """An event's facts, or {} if its data is not a JSON object (the checks then name the event)."""
    try:
        data = strict_loads(event["data"])
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


# --- Ed25519 verification after RFC 8032 §6, for machines without `cryptography` ---
P, Q = 2**255 - 19, 2**252 + 27742317777372353535851937790883648493
D, SQRT_M1 = -121665 * pow(121666, P - 2, P) % P, pow(2, (P - 1) // 4, P)


def _add(a, b):  # points in extended coordinates (X, Y, Z, T)
    e, f = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    g, h = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    e, f, g, h = f - e, h - g, h + g, f + e
    return e * f, g * h, f * g, e * h


def _mul(s: int, point):
    result = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _add(result, point)
        point, s = _add(point, point), s >> 1
    return result


def _recover_x(y: int, sign: int):
    if y >= P:  # a non-canonical encoding
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    x = x if (x * x - x2) % P == 0 else x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    return P - x if (x & 1) != sign else x


def _decompress(s: bytes):
    y = int.from_bytes(s, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


G_Y = 4 * pow(5, P - 2, P) % P
G_X = _recover_x(G_Y, 0)
G = (G_X, G_Y, 1, G_X * G_Y % P)


def pure_ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % Q
    left, right = _mul(s, G), _add(r, _mul(h, a))  # [s]B = R + [h]A, compared projectively
    return all((left[i] * right[2] - right[i] * left[2]) % P == 0 for i in (0, 1))


def ed25519_verify(public: bytes, message: bytes, signature: bytes, pure: bool = False):
    """(valid, which implementation said so)."""
    key_class = None
    if not pure and os.environ.get("GONGKAI_VERIFIER_PURE") != "1":
        try:
            from cryptography.hazmat.primitives.asymmetric import ed25519
            key_class = ed25519.Ed25519PublicKey
        except Exception:  # absent or half-installed: the review goes ahead without it
            pass
    if key_class is None:
        return pure_ed25519_verify(public, message, signature), "纯 Python RFC 8032"
    try:
        key_class.from_public_bytes(public).verify(signature, message)
        return True, "cryptography"
    except Exception:  # InvalidSignature, or a key that is no point on the curve
        return False, "cryptography"


def verify_inclusion(leaf: bytes, leaf_index: int, tree_size: int, path: list, root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `path` lead from leaf input `leaf` at `leaf_index` to `root`?"""
    if not 0 <= leaf_index < tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, hashlib.sha256(b"\x00" + leaf).digest()
    for p in path:
        if sn == 0:
            return False  # more path than the tree is deep
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


class Report:
    """Prints one line per check; counts the failures and the points left to the reviewer."""

    def __init__(self):
        self.failures = self.warnings = 0

    def __call__(self, mark: str, line: str) -> None:
        self.failures += mark == "✗"
        self.warnings += mark == "⚠"
        print(f"{mark} {line}")


def check_chain(bundle: dict, report: Report) -> None:
    events, request = bundle["events"], bundle["request"]
    if not events:
        return report("✗", "审计链：导出包中没有任何事件")
    problems, prev_seq, prev_hash = [], 0, GENESIS_HASH
    for ev in events:
        seq, label = ev["seq"], f"事件 {ev['seq']}（{_show(ev['event'])}）"
        if ev["request_id"] != request["id"]:
            problems.append(f"{label}属于申请 {ev['request_id']}，不属于本申请 {request['id']}")
        if seq > prev_seq + 1:
            gap = prev_seq + 1 if seq == prev_seq + 2 else f"{prev_seq + 1}–{seq - 1}"
            problems.append(f"事件 {gap} 缺失：事件 {prev_seq} 之后紧接着是事件 {seq}")
        elif seq <= prev_seq:
            problems.append(f"{label}顺序错乱：排在事件 {prev_seq} 之后")
        elif ev["prev_hash"] != prev_hash:
            problems.append(f"{label}未链接到事件 {prev_seq}：记录的前一哈希不符" if prev_seq
                            else f"{label}不是链的起点：前一哈希应为 64 个 0")
        if event_hash(ev) != ev["hash"]:
            problems.append(f"{label}被改动：重算哈希与记录不符")
        prev_seq, prev_hash = seq, ev["hash"]
    for line in problems[:10]:
        report("✗", line)
    if len(problems) > 10:
        report("✗", f"审计链另有 {len(problems) - 10} 处问题未列出")
    if not problems:
        report("✓", f"审计链：{len(events)} 个事件逐一重算哈希，链接完整（事件 1–{len(events)}）")
    first, number = events[0], _show(request["number"])
    if first["seq"] != 1 or first["event"] != "receive":
        report("✗", f"申请编号：第一个事件应为事件 1（receive），"
               f"实际是事件 {first['seq']}（{_show(first['event'])}）")
    elif _data(first).get("number") != request["number"]:
        report("✗", f"申请编号 {number} 与事件 1（receive）记录的编号不符")
    else:
        report("✓", f"申请编号 {number} 与事件 1（receive）记录一致")


def check_letters(bundle: dict, report: Report) -> None:
    attested: dict = {}  # what the chain says was sent: (letter_id, format) -> [(seq, sha256)]
    issued: dict = {}  # letter_id -> (seq, the data of its issue_letter event)
    for ev in bundle["events"]:
        if ev["event"] not in ("issue_letter", "render_letter"):
            continue
        data = _data(ev)
        issue = ev["event"] == "issue_letter"
        files = {str(data.get("format")): data} if issue else data.get("files")
        if type(data.get("letter_id")) is not int or not isinstance(files, dict) \
                or not all(isinstance(f, dict) for f in files.values()):
            report("✗", f"事件 {ev['seq']}（{ev['event']}）的 data 无法读出文书记录")
            continue
        if issue:
            issued[data["letter_id"]] = (ev["seq"], data)
        for fmt, f in files.items():
            attested.setdefault((data["letter_id"], fmt), []).append((ev["seq"], f.get("sha256")))
    present = set()
    for letter in bundle["letters"]:
        lid = letter["letter_id"]
        seq, data = issued.get(lid, (None, None))
        problems = [] if data else ["审计链中没有它的 issue_letter 事件"]
        seqs = {seq} if data else set()
        problems += [f"{zh}与事件 {seq} 的记录不符" for key, zh in
                     (("kind", "类别"), ("title", "标题"), ("doc_number", "文号"))
                     if data and data.get(key) != letter[key]]
        for f in letter["files"]:
            fmt = _show(f["format"])
            present.add((lid, f["format"]))
            try:
                content = base64.b64decode(f["content_base64"], validate=True)
            except ValueError:  # binascii.Error, or non-ASCII text
                problems.append(f"{fmt} 文件的 base64 内容无法解码")
                continue
            actual = hashlib.sha256(content).hexdigest()
            if actual != f["sha256"]:
                problems.append(f"{fmt} 文件内容与其 sha256 不符（内容或 sha256 被改动）")
            if len(content) != f["size"]:
                problems.append(f"{fmt} 文件大小 {len(content)} 字节，与所列的 {f['size']} 不符")
            # The content itself, not the sha256 listed beside it, must be what the chain recorded.
            records = attested.get((lid, f["format"]), [])
            seqs.update(s for s, recorded in records if recorded == actual)
            if all(recorded != actual for _, recorded in records):
                problems.append(f"{fmt} 文件与事件 {records[0][0]} 记录的哈希不符" if records
                                else f"{fmt} 文件在审计链中没有记录")
        name = f"文书 {lid}「{_show(letter['title'])}」（{_show(letter['doc_number'])}）"
        if problems:
            report("✗", f"{name}：{'；'.join(problems)}")
        else:
            formats = "、".join(_show(f["format"]) for f in letter["files"])
            report("✓", f"{name}：{formats} 与审计链记录一致（事件 {'、'.join(map(str, sorted(seqs)))}）")
    for lid, fmt in sorted(attested.keys() - present):
        report("✗", f"文书 {lid} 的 {_show(fmt)} 文件在审计链中有记录（事件 {attested[lid, fmt][0][0]}），"
               "导出包中却没有：并非每份文书都按发出时的原样附上")
    if not attested and not bundle["letters"]:
        report("✓", "文书：审计链未记录任何文书，导出包中也没有")


def check_checkpoint(bundle: dict, expected_key: str | None, report: Report) -> dict | None:
    """Check the signed statement; return its fields for the inclusion check (None if unusable)."""
    cp = bundle["checkpoint"]
    public = bytes.fromhex(cp["public_key"])
    fingerprint = hashlib.sha256(public).hexdigest()[:16]
    try:
        statement = _check(strict_loads(cp["statement"]), STATEMENT, "statement")
        if statement["format"] != CHECKPOINT_FORMAT:
            raise Unreadable(f"format 应为 {CHECKPOINT_FORMAT}")
        if canonical_json(statement) != cp["statement"].encode("utf-8"):
            raise Unreadable("不是规范 JSON")
    except (Unreadable, ValueError, RecursionError) as exc:
        report("✗", f"检查点声明无效：{_show(str(exc), 120)}")
        return None
    label = (f"检查点 #{statement['number']}（{statement['tree_size']} 个叶子，"
             f"签署于 {_show(statement['signed_at'])}）")
    valid, how = ed25519_verify(public, cp["statement"].encode("utf-8"),
                                bytes.fromhex(cp["signature"]))
    if valid:
        report("✓", f"{label}签名有效，公钥指纹 {fingerprint}（Ed25519：{how}）")
    else:
        report("✗", f"{label}签名无效：声明或签名被改动（Ed25519：{how}）")
    if statement["key_id"] != fingerprint:
        report("✗", f"检查点声明的密钥编号 {statement['key_id']} 与所附公钥的指纹 {fingerprint} 不符")
    if expected_key is None:
        report("⚠", f"公钥指纹 {fingerprint}：请与机关公布的公钥指纹核对（或用 --public-key 指定公钥）")
    elif expected_key != cp["public_key"]:
        theirs = hashlib.sha256(bytes.fromhex(expected_key)).hexdigest()[:16]
        report("✗", f"检查点由另一把密钥签名：所附公钥指纹 {fingerprint}，您指定的公钥指纹 {theirs}")
    else:
        report("✓", f"公钥与您指定的公钥一致（指纹 {fingerprint}）")
    return statement


def check_inclusion(bundle: dict, statement: dict, report: Report) -> None:
    inc, events = bundle["inclusion"], bundle["events"]
    seq, where, leaf = inc["seq"], f"检查点 #{statement['number']}", inc["leaf_index"]
    event = next((ev for ev in events if ev["seq"] == seq), None)
    if event is None:
        return report("✗", f"包含证明：导出包中没有它所证明的事件 {seq}")
    if inc["tree_size"] != statement["tree_size"]:
        return report("✗", f"包含证明的树大小 {inc['tree_size']} 与{where} "
                      f"的 {statement['tree_size']} 不符")
    path = [bytes.fromhex(p) for p in inc["path"]]
    if not verify_inclusion(bytes.fromhex(event["hash"]), leaf, inc["tree_size"], path,
                            bytes.fromhex(statement["root"])):
        return report("✗", f"包含证明不成立：事件 {seq} 不在{where} 的默克尔树中（叶子 {leaf}，"
                      f"路径 {len(inc['path'])} 个哈希）：事件、叶子序号、证明路径或根哈希被改动")
    report("✓", f"包含证明：事件 {seq} 在{where} 的默克尔树中（叶子 {leaf}）")
    later = [ev["seq"] for ev in events if ev["seq"] > seq]
    if later:
        report("·", f"事件 {seq + 1}–{max(later)}（共 {len(later)} 个）在{where} 之后记入，"
               f"已由哈希链接到事件 {seq}，但尚未被检查点覆盖")


def main(argv: list | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a console that cannot show ✓ must not stop the review
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    parser = argparse.ArgumentParser(description="离线核验 Gongkai 申请导出包（审计链、文书、检查点）")
    parser.add_argument("bundle", help="导出包 JSON 文件")
    parser.add_argument("--public-key", help="机关公布的 Ed25519 公钥（64 位十六进制）")
    args = parser.parse_args(argv)
    expected = args.public_key.strip().lower() if args.public_key is not None else None
    if expected is not None and (len(expected) != 64 or expected.strip("0123456789abcdef")):
        print("✗ --public-key 应为 64 位十六进制（32 字节的 Ed25519 公钥）")
        return 2
    try:
        bundle = read_bundle(args.bundle)
    except Unreadable as exc:
        print(f"✗ 无法读取导出包：{exc}")
        return 2
    print(f"核验导出包 {_show(os.path.basename(args.bundle))}：申请 {_show(bundle['request']['number'])}")
    report = Report()
    check_chain(bundle, report)
    check_letters(bundle, report)
    if bundle["checkpoint"] is None:
        report("⚠", "尚无检查点：审计链自洽，但未被锚定到机关公布的日志")
    elif (statement := check_checkpoint(bundle, expected, report)) is not None:
        check_inclusion(bundle, statement, report)
    else:
        report("·", "包含证明未核对：没有可用的检查点声明")
    if report.failures:
        print(f"结论：{report.failures} 项检查未通过，此导出包不可信")
        return 1
    print("结论：全部检查通过" + (f"，但请留意上面 {report.warnings} 条 ⚠ 提示" if report.warnings else ""))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # whatever the bundle holds: a sentence for the reviewer, no traceback
        print(f"✗ 核验程序内部错误（{type(exc).__name__}），本次结果无效，请将导出包交技术人员检查")
        sys.exit(2)
