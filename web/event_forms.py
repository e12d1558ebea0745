"""Each lawful next action of a request as a form, built from the event's own input model
(states/inputs.py) so the page asks exactly what the one door takes; and a posted form read back
into that model, its errors named in Chinese."""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from dataclasses import dataclass, field

from annotated_types import MaxLen
from pydantic import BaseModel, ValidationError

from web.forms import CONTROL, FieldError
from states.codes import PRIVACY
from web.labels import CHOICES, FIELDS

# Fields the page fills itself, or lists of structured parts it cannot take yet (the API can).
_SKIPPED = {"expected_version"}


@dataclass
class FormField:
    name: str
    label: str
    kind: str                      # date, text, textarea, int, bool, choice, lines
    required: bool
    choices: dict[str, str] = field(default_factory=dict)
    max_length: int | None = None
    value: str = ""


def _inner(annotation):
    """The type under Optional / Annotated."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in args if a is not type(None)]
        return _inner(args[0]) if len(args) == 1 else annotation
    if typing.get_origin(annotation) is typing.Annotated:
        return _inner(args[0])
    return annotation


def form_fields(model: type[BaseModel], *, today: dt.date, open_consultations: dict[str, str],
                open_internal: dict[str, str]) -> list[FormField]:
    out = []
    for name, info in model.model_fields.items():
        if name in _SKIPPED:
            continue
        kind_of = _inner(info.annotation)
        max_length = next((m.max_length for m in info.metadata if isinstance(m, MaxLen)), None)
        spec = FormField(name, FIELDS.get(name, name), "text", info.is_required(), max_length=max_length)
        if kind_of is dt.date:
            spec.kind = "date"
            spec.value = today.isoformat() if name == "on" else ""
        elif kind_of is bool:
            spec.kind, spec.choices = "choice", {"true": "是", "false": "否"}
        elif kind_of is int and name == "consultation_id":
            spec.kind, spec.choices = "choice", open_consultations
        elif kind_of is int and name == "internal_consultation_id":
            spec.kind, spec.choices = "choice", open_internal
        elif kind_of is int:
            spec.kind = "int"
        elif typing.get_origin(kind_of) is typing.Literal:
            labels = CHOICES.get(name, {})
            spec.kind = "choice"
            spec.choices = {str(v): labels.get(str(v), str(v)) for v in typing.get_args(kind_of)}
        elif isinstance(kind_of, type) and issubclass(kind_of, enum.Enum):
            labels = CHOICES.get(name, {})
            spec.kind = "choice"
            spec.choices = {str(v.value): labels.get(str(v.value), str(v.value)) for v in kind_of}
        elif name in ("redactions", "overrides"):
            spec.kind = name
        elif typing.get_origin(kind_of) is list:
            spec.kind = "lines"
        elif max_length is None or max_length > 300:
            spec.kind = "textarea"
        out.append(spec)
    return out


def read_form(model: type[BaseModel], fields: list[FormField], form, *, version: int) -> BaseModel:
    """The posted form as the event's model; FieldError naming the first field at fault."""
    data: dict = {"expected_version": version}
    labels = {f.name: f.label for f in fields}
    for spec in fields:
        raw = form.get(spec.name)
        raw = raw.strip() if isinstance(raw, str) else ""
        if not raw:
            continue
        if spec.kind == "redactions":
            data[spec.name] = _redactions(spec, raw)
        elif spec.kind == "overrides":
            data[spec.name] = _overrides(spec, raw)
        elif spec.kind == "lines":
            lines = [line.strip() for line in raw.replace("\r\n", "\n").split("\n")]
            if any(CONTROL.search(line) for line in lines):
                raise FieldError(spec.name, spec.label, "不能含有控制字符")
            data[spec.name] = [line for line in lines if line]
        elif spec.kind == "bool" or spec.choices == {"true": "是", "false": "否"}:
            data[spec.name] = raw == "true"
        elif spec.kind == "int" or spec.name in ("consultation_id", "internal_consultation_id"):
            if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
                raise FieldError(spec.name, spec.label, "应为整数")
            data[spec.name] = int(raw)
        else:
            if CONTROL.search(raw.replace("\r\n", "\n").replace("\n", "") if spec.kind == "textarea" else raw):
                raise FieldError(spec.name, spec.label, "不能含有控制字符")
            data[spec.name] = raw
    return validated(model, data, labels)


def validated(model: type[BaseModel], data: dict, labels: dict[str, str] | None = None) -> BaseModel:
    """`data` as `model`; FieldError naming the first field at fault, in Chinese."""
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        name = ".".join(str(p) for p in first["loc"] if not isinstance(p, int)) or "表单"
        raise FieldError(name, (labels or {}).get(name, FIELDS.get(name, name)), _rule(first)) from None


def _rule(error: dict) -> str:
    """A pydantic error as a rule in Chinese."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "必须填写"
    if kind == "string_too_long":
        return f"不能超过{ctx.get('max_length')}个字"
    if kind == "string_too_short":
        return "不能为空"
    if kind in ("literal_error", "enum"):
        return "不是可选的值"
    if kind.startswith("date"):
        return "请按“年-月-日”填写，如 2026-03-02"
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于{ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于{ctx.get('le', ctx.get('lt'))}"
    if kind in ("too_short", "too_long"):
        return "项数不符合要求"
    if kind in ("int_parsing", "int_type"):
        return "应为整数"
    if kind in ("value_error", "string_pattern_mismatch"):
        return "格式不正确"
    return f"不符合要求（{error.get('msg', kind)}）"


def _grounds() -> dict[str, str]:
    """What an officer may write as a part's ground: its code, its Chinese name, 个人隐私."""
    named = {label: code for code, label in CHOICES["withheld_ground"].items()}
    return {**{code: code for code in CHOICES["withheld_ground"]}, **named,
            "privacy": PRIVACY, "个人隐私": PRIVACY, CHOICES["ground"][PRIVACY]: PRIVACY}


def _lines(spec: FormField, raw: str):
    """(line number, text) of each non-empty line of a textarea, none with control characters."""
    for n, line in enumerate(raw.replace("\r\n", "\n").split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        if CONTROL.search(line):
            raise FieldError(spec.name, spec.label, f"第{n}行含有控制字符")
        yield n, line


def _redactions(spec: FormField, raw: str) -> list[dict]:
    """One part a line: 内容｜理由 (the ground by its name in the annual report, or 个人隐私)."""
    grounds = _grounds()
    out = []
    for n, line in _lines(spec, raw):
        part, sep, ground = line.replace("|", "｜").rpartition("｜")
        if not sep or not part.strip() or ground.strip() not in grounds:
            raise FieldError(spec.name, spec.label, f"第{n}行应写作“内容｜理由”，理由为"
                             + "、".join(CHOICES["withheld_ground"].values()) + "或个人隐私")
        out.append({"part": part.strip(), "ground": grounds[ground.strip()]})
    return out


def _overrides(spec: FormField, raw: str) -> list[dict]:
    """Art 32: one objecting third party a line — 征求意见编号｜公开的内容｜理由."""
    out = []
    for n, line in _lines(spec, raw):
        parts = [p.strip() for p in line.replace("|", "｜").split("｜", 2)]
        if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit() or len(parts[0]) > 10 \
                or not parts[1] or not parts[2]:
            raise FieldError(spec.name, spec.label, f"第{n}行应写作“征求意见编号｜公开的内容｜理由”")
        out.append({"consultation_id": int(parts[0]), "disclosed": parts[1], "reason": parts[2]})
    return out
