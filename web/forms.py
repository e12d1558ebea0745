"""What a page's form fields may hold, checked before anything is read or written: a field that
breaks a rule comes back to the officer, in Chinese, naming the field and the rule (HTTP 422)."""

from __future__ import annotations

import datetime as dt
import re

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FieldError(ValueError):
    def __init__(self, field: str, label: str, rule: str):
        super().__init__(f"{label}：{rule}")
        self.field, self.label, self.rule = field, label, rule


def text(values, field: str, label: str, *, max_length: int = 200) -> str | None:
    """One line of text, or None when left empty."""
    raw = values.get(field)
    value = raw.strip() if isinstance(raw, str) else ""  # a file posted here is no text
    if not value:
        return None
    if CONTROL.search(value):
        raise FieldError(field, label, "不能含有控制字符")
    if len(value) > max_length:
        raise FieldError(field, label, f"不能超过{max_length}个字")
    return value


def date(values, field: str, label: str) -> dt.date | None:
    value = text(values, field, label, max_length=10)
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise FieldError(field, label, "请按“年-月-日”填写，如 2026-03-02") from None
    if not 2000 <= day.year <= 2100:
        raise FieldError(field, label, "年份应在2000年至2100年之间")
    return day


def choice(values, field: str, label: str, allowed) -> str | None:
    value = text(values, field, label, max_length=64)
    if value is not None and value not in allowed:
        raise FieldError(field, label, "不是可选的值")
    return value


def number(values, field: str, label: str, *, low: int, high: int, default: int) -> int:
    value = text(values, field, label, max_length=40)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise FieldError(field, label, f"应为{low}至{high}之间的整数")
    return int(value)
