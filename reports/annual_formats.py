"""The annual report's tables 三 and 四 printed as agencies publish them: an HTML page (printable,
no external assets) and an XLSX workbook (openpyxl), from the data `reports.annual` computes."""

from __future__ import annotations

import html
import io

from reports.annual import CHALLENGE_RESULTS, CHALLENGE_ROWS

TITLE_THREE = "三、收到和处理政府信息公开申请情况"
TITLE_FOUR = "四、政府信息公开行政复议、行政诉讼情况"
_KIND_HEAD = ["自然人", "法人或其他组织", "总计"]
_ORG_KINDS = ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]
_CSS = """
body { font-family: "Noto Serif CJK SC", "AR PL UMing CN", serif; margin: 2em; }
h1 { font-size: 1.4em; text-align: center; } h2 { font-size: 1.1em; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2em; font-size: 0.95em; }
th, td { border: 1px solid #000; padding: 0.25em 0.5em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.l1 { padding-left: 1.5em; } td.l2 { padding-left: 3em; }
@media print { body { margin: 0; } }
"""


def _four_flat(report: dict) -> list[int]:
    rows = {r["label"]: r["values"] for r in report["table_four"]["rows"]}
    return [v for label in CHALLENGE_ROWS for v in rows[label]]


def _corrections_html(items: list[dict]) -> list[str]:
    e = html.escape
    out = ["<h2>更正情况（公布后变动的数据）</h2><table><tr><th>表</th><th>项目</th><th>列</th>"
           "<th>公布数</th><th>现数</th></tr>"]
    out += [f"<tr><td>{e(c['table'])}</td><td>{e(c['row'])}</td><td>{e(c['column'])}</td>"
            f"<td class=\"n\">{c['published']}</td><td class=\"n\">{c['now']}</td></tr>" for c in items]
    return out + ["</table>"]


def to_html(report: dict, title: str, corrections: list[dict] | None = None) -> str:
    e = html.escape
    out = ["<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{e(title)}</h1>", f"<h2>{TITLE_THREE}</h2><table>",
           "<tr><th rowspan=\"3\" colspan=\"2\">本列数据的勾稽关系为：第一项加第二项之和，"
           "等于第三项加第四项之和</th><th colspan=\"7\">申请人情况</th></tr>",
           "<tr><th rowspan=\"2\">自然人</th><th colspan=\"5\">法人或其他组织</th>"
           "<th rowspan=\"2\">总计</th></tr>",
           "<tr>" + "".join(f"<th>{k}</th>" for k in _ORG_KINDS) + "</tr>"]
    for row in report["table_three"]:
        label = f"<td colspan=\"2\" class=\"l{row['level']}\">{e(row['label'])}</td>"
        if row["values"] is None:
            out.append(f"<tr>{label}" + "<td></td>" * 7 + "</tr>")
        else:
            out.append(f"<tr>{label}" + "".join(f"<td class=\"n\">{v}</td>" for v in row["values"])
                       + "</tr>")
    out.append(f"</table><h2>{TITLE_FOUR}</h2><table>")
    out.append("<tr><th colspan=\"5\" rowspan=\"2\">行政复议</th><th colspan=\"10\">行政诉讼</th></tr>")
    out.append("<tr><th colspan=\"5\">未经复议直接起诉</th><th colspan=\"5\">复议后起诉</th></tr>")
    out.append("<tr>" + "".join(f"<th>{c}</th>" for c in CHALLENGE_RESULTS * 3) + "</tr>")
    out.append("<tr>" + "".join(f"<td class=\"n\">{v}</td>" for v in _four_flat(report)) + "</tr>")
    out.append("</table>")
    if corrections:
        out += _corrections_html(corrections)
    out.append("</body></html>")
    return "\n".join(out)


def to_xlsx(report: dict, title: str, corrections: list[dict] | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    book = Workbook()
    three = book.active
    three.title = "三、申请情况"
    three["A1"] = f"{title}　{TITLE_THREE}"
    three["A1"].font = Font(bold=True, size=13)
    three.merge_cells("A2:B4")
    three["A2"] = "本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和"
    three.merge_cells("C2:I2")
    three["C2"] = "申请人情况"
    three.merge_cells("C3:C4")
    three["C3"] = "自然人"
    three.merge_cells("D3:H3")
    three["D3"] = "法人或其他组织"
    three.merge_cells("I3:I4")
    three["I3"] = "总计"
    for i, kind in enumerate(_ORG_KINDS):
        three.cell(row=4, column=4 + i, value=kind)
    for r, row in enumerate(report["table_three"], start=5):
        three.merge_cells(start_row=r, start_column=1, end_row=r, end_column=2)
        three.cell(row=r, column=1, value=row["label"]).alignment = Alignment(indent=2 * row["level"])
        for c, value in enumerate(row["values"] or [], start=3):
            three.cell(row=r, column=c, value=value)
    last = 4 + len(report["table_three"])
    for row in three.iter_rows(min_row=2, max_row=last, min_col=1, max_col=9):
        for cell in row:
            cell.border = box
            if cell.row <= 4:
                cell.alignment = center
    three.column_dimensions["A"].width = 40
    three.column_dimensions["B"].width = 30
    four = book.create_sheet("四、复议诉讼")
    four["A1"] = f"{title}　{TITLE_FOUR}"
    four["A1"].font = Font(bold=True, size=13)
    four.merge_cells("A2:E3")
    four["A2"] = "行政复议"
    four.merge_cells("F2:O2")
    four["F2"] = "行政诉讼"
    four.merge_cells("F3:J3")
    four["F3"] = "未经复议直接起诉"
    four.merge_cells("K3:O3")
    four["K3"] = "复议后起诉"
    for c, label in enumerate(CHALLENGE_RESULTS * 3, start=1):
        four.cell(row=4, column=c, value=label)
    for c, value in enumerate(_four_flat(report), start=1):
        four.cell(row=5, column=c, value=value)
    for row in four.iter_rows(min_row=2, max_row=5, min_col=1, max_col=15):
        for cell in row:
            cell.border, cell.alignment = box, center
    if corrections:
        sheet = book.create_sheet("更正")
        sheet.append(["表", "项目", "列", "公布数", "现数"])
        for c in corrections:
            sheet.append([c["table"], c["row"], c["column"], c["published"], c["now"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
