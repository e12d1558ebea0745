"""The annual report's request tables (政府信息公开工作年度报告, 国办公开办函〔2021〕30号; the
2019 format of 国办公开办函〔2019〕60号 on request): section 三 (requests received and handled) and
section 四 (行政复议 and 行政诉讼), computed from the ledger for one agency or several.

Counting (../shared/reference/annual-report.md): 本年新收 by receipt date; 上年结转 received before
the year and not concluded at its start; 办理结果 concluded in the year by the date of the final
decision, in the row of that decision (a partial disclosure only as 部分公开); 结转下年度 not
concluded at the year's end. 一 + 二 = （七）总计 + 四 is checked per column before anything is
returned.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from states.codes import APPLICANT_KIND_LABELS, OUTCOMES, ApplicantKind
from states.agency import all_agency_ids
from states.challenges import LegalChallenge
from states.models import Request

# Columns of table 三: 自然人 | 法人或其他组织: 商业企业 科研机构 社会公益组织 法律服务机构 其他 | 总计.
KINDS = [ApplicantKind.natural_person, ApplicantKind.commercial, ApplicantKind.research,
         ApplicantKind.public_interest, ApplicantKind.legal_service, ApplicantKind.other]
COLUMNS = [APPLICANT_KIND_LABELS[k] for k in KINDS] + ["总计"]

# The rows of 三、本年度办理结果, each (key, label, outcome group, item); item 0: the whole group.
_GROUPS_2021 = [
    ("（一）予以公开", "予以公开", []),
    ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "部分公开", []),
    ("（三）不予公开", "不予公开", ["1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及“三安全一稳定”",
                           "4.保护第三方合法权益", "5.属于三类内部事务信息", "6.属于四类过程性信息",
                           "7.属于行政执法案卷", "8.属于行政查询事项"]),
    ("（四）无法提供", "无法提供", ["1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作",
                           "3.补正后申请内容仍不明确"]),
    ("（五）不予处理", "不予处理", ["1.信访举报投诉类申请", "2.重复申请", "3.要求提供公开出版物",
                           "4.无正当理由大量反复申请", "5.要求行政机关确认或重新出具已获取信息"]),
    ("（六）其他处理", "其他处理", ["1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
                           "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
                           "3.其他"]),
]
FORMATS = ("2021", "2019")
CHALLENGE_RESULTS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
CHALLENGE_ROWS = ("行政复议", "行政诉讼（未经复议直接起诉）", "行政诉讼（复议后起诉）")


class InvariantBroken(Exception):
    """一 + 二 ≠ （七）总计 + 四 in some column: the figures are not published."""


@dataclass
class Row:
    label: str
    values: list[int] | None   # one per column, the last the 总计; None: a heading
    level: int = 0             # 0 section row, 1 group, 2 item


def _rows_for(fmt: str) -> list[tuple[str, str, int]]:
    """(label, group, item) of every result row, in print order; item 0 = group row."""
    out = []
    for label, group, items in _GROUPS_2021:
        out.append((label, group, 0))
        if fmt == "2021" or group != "其他处理":
            out += [(item, group, i) for i, item in enumerate(items, start=1)]
    return out


def _by_kind(pairs) -> list[int]:
    counts = dict(pairs)
    values = [int(counts.get(k.value, 0)) for k in KINDS]
    return values + [sum(values)]


def table_three(session: Session, year: int, agency_ids: list[int] | None,
                fmt: str = "2021") -> list[Row]:
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)

    if agency_ids is None:  # the whole government: its agencies' ranges of the indexes below
        agency_ids = all_agency_ids(session)

    def scoped(query):
        return query.where(Request.agency_id.in_(agency_ids))

    by_kind = select(Request.applicant_kind, func.count()).group_by(Request.applicant_kind)
    # Every count reads one of the two covering indexes of migration 0012 (ix_request_report_*):
    # the request row carries its final decision's date and outcome.
    new = session.exec(scoped(by_kind.where(Request.received_on >= start,
                                            Request.received_on <= end))).all()

    def open_at(day: dt.date) -> list[tuple[str, int]]:
        """Received before `day` and not concluded (no final decision) before it: the open ones
        and those decided on or after `day`, two ranges of the decision index."""
        still_open = session.exec(scoped(by_kind.where(Request.decided_on.is_(None),
                                                       Request.received_on < day))).all()
        decided_later = session.exec(scoped(by_kind.where(Request.decided_on >= day,
                                                          Request.received_on < day))).all()
        return list((Counter(dict(still_open)) + Counter(dict(decided_later))).items())

    carried_in = open_at(start)
    carried_out = open_at(end + dt.timedelta(days=1))
    results = session.exec(scoped(
        select(Request.outcome, Request.applicant_kind, func.count())
        .where(Request.decided_on >= start, Request.decided_on <= end)
        .group_by(Request.outcome, Request.applicant_kind))).all()

    cells: dict[tuple[str, int], dict[str, int]] = {}
    for outcome, kind, n in results:
        info = OUTCOMES[outcome]
        item = info.report_item if (fmt == "2021" or info.report_group != "其他处理") else 0
        for key in {(info.report_group, item), (info.report_group, 0)}:
            cells.setdefault(key, {}).setdefault(kind, 0)
            cells[key][kind] += n
    rows = [Row("一、本年新收政府信息公开申请数量", _by_kind(new)),
            Row("二、上年结转政府信息公开申请数量", _by_kind(carried_in)),
            Row("三、本年度办理结果", None)]  # a heading, no figures
    leaves = []
    rows_for = _rows_for(fmt)
    for n, (label, group, item) in enumerate(rows_for):
        has_items = n + 1 < len(rows_for) and rows_for[n + 1][1] == group and rows_for[n + 1][2]
        if item == 0 and has_items:
            rows.append(Row(label, None, 1))  # (三)–(六): a heading, no subtotal row
            continue
        values = _by_kind(cells.get((group, item), {}).items())
        leaves.append(values)
        rows.append(Row(label, values, 1 if item == 0 else 2))
    rows.append(Row("（七）总计", [sum(column) for column in zip(*leaves)], 1))  # the leaf rows
    rows.append(Row("四、结转下年度继续办理", _by_kind(carried_out)))
    check(rows)
    return rows


def check(rows: list[Row]) -> None:
    """一 + 二 = （七）总计 + 四, per column; and each group equals the sum of its items."""
    by_label = {r.label: r.values for r in rows}
    new, carried = by_label["一、本年新收政府信息公开申请数量"], by_label["二、上年结转政府信息公开申请数量"]
    total, out = by_label["（七）总计"], by_label["四、结转下年度继续办理"]
    for i, column in enumerate(COLUMNS):
        if new[i] + carried[i] != total[i] + out[i]:
            raise InvariantBroken(f"{column}: 一（{new[i]}）+ 二（{carried[i]}）≠ （七）总计（{total[i]}）"
                                  f"+ 四（{out[i]}）")


def table_four(session: Session, year: int, agency_ids: list[int] | None) -> list[Row]:
    """Cases filed in the year, by their result as of the year's end (尚未审结 if none by then)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    query = (select(LegalChallenge.kind, LegalChallenge.after_reconsideration, LegalChallenge.result,
                    LegalChallenge.decided_on)
             .join(Request, Request.id == LegalChallenge.request_id)
             .where(LegalChallenge.filed_on >= start, LegalChallenge.filed_on <= end))
    if agency_ids is not None:
        query = query.where(Request.agency_id.in_(agency_ids))
    counts = {row: [0] * len(CHALLENGE_RESULTS) for row in CHALLENGE_ROWS}
    column = {"upheld": 0, "corrected": 1, "other": 2}
    for kind, after, result, decided_on in session.exec(query).all():
        row = (CHALLENGE_ROWS[0] if kind == "reconsideration" else
               CHALLENGE_ROWS[2] if after else CHALLENGE_ROWS[1])
        col = column[result] if result and decided_on and decided_on <= end else 3
        counts[row][col] += 1
        counts[row][4] += 1
    return [Row(label, values) for label, values in counts.items()]


def annual_report(session: Session, year: int, agency_ids: list[int] | None,
                  fmt: str = "2021") -> dict:
    """Both tables as plain data (what JSON, HTML and XLSX are made from)."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    three = table_three(session, year, agency_ids, fmt)
    four = table_four(session, year, agency_ids)
    return {"year": year, "format": fmt, "columns": COLUMNS,
            "table_three": [{"label": r.label, "level": r.level, "values": r.values} for r in three],
            "table_four": {"columns": list(CHALLENGE_RESULTS),
                           "rows": [{"label": r.label, "values": r.values} for r in four]}}


def corrections(published: dict, live: dict) -> list[dict]:
    """Every cell whose live figure differs from the published one."""
    out = []
    for before, now in zip(published["table_three"], live["table_three"]):
        for column, a, b in zip(published["columns"], before["values"] or [], now["values"] or []):
            if a != b:
                out.append({"table": "三", "row": now["label"], "column": column,
                            "published": a, "now": b})
    for before, now in zip(published["table_four"]["rows"], live["table_four"]["rows"]):
        for column, a, b in zip(published["table_four"]["columns"], before["values"], now["values"]):
            if a != b:
                out.append({"table": "四", "row": now["label"], "column": column,
                            "published": a, "now": b})
    return out
