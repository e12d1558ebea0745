"""The annual report's tables 三 and 四 in the official layout: 临海市's published 2020 figures come
back exactly from a generated year; the invariant holds per column; 行政复议 / 行政诉讼 cases are
counted by their result; a published year lists every later change as a correction."""

from __future__ import annotations

import io

import pytest

from cli.demo import LINHAI_2020, generate_year
from tests.conftest import authenticate, fire, legal_signoff, make_user, new_request
from tests.test_access import _as


@pytest.fixture
def linhai(client, settings):
    """A 2020 year of requests in the 临海 profile, and a supervisor of that agency."""
    made = generate_year(client.app.state.engine, settings, 2020, LINHAI_2020)
    assert made == {"agency": "linhai", "year": 2020, "received": 248, "decided": 238, "open": 10}
    return _as(client, make_user(client.app.state.engine, "linhai.head", "supervisor", agency="linhai"))


def test_the_linhai_2020_report_comes_back_exactly_in_json_html_and_xlsx(linhai):
    report = linhai.get("/api/v1/reports/annual", params={"year": 2020, "agency": "linhai"}).json()
    rows = {r["label"]: r["values"] for r in report["table_three"]}
    assert report["columns"] == ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
    assert rows["一、本年新收政府信息公开申请数量"] == [239, 2, 2, 0, 1, 4, 248]
    assert rows["二、上年结转政府信息公开申请数量"] == [0, 0, 0, 0, 0, 0, 0]
    # (三)–(六) are headings over their items (no subtotal rows in the official layout).
    labels = [r["label"] for r in report["table_three"]]
    groups = {}
    for label in ("（一）予以公开", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
                  "（三）不予公开", "（四）无法提供", "（五）不予处理", "（六）其他处理"):
        at = labels.index(label)
        items = [r for r in report["table_three"][at + 1:] if r["level"] == 2]
        following = []
        for r in report["table_three"][at + 1:]:
            if r["level"] != 2:
                break
            following.append(r["values"][-1])
        groups[label] = rows[label][-1] if rows[label] is not None else sum(following)
        assert (rows[label] is None) == bool(following) and items is not None
    assert list(groups.values()) == [115, 33, 11, 64, 7, 8]
    assert rows["（七）总计"][-1] == 238 and rows["四、结转下年度继续办理"][-1] == 10
    assert rows["1.本机关不掌握相关政府信息"][-1] == 50  # not held, and not this agency's (Art 36(5))
    assert rows["3.其他"][-1] == 3  # the withdrawn ones
    assert report["table_four"]["rows"][0] == {"label": "行政复议", "values": [0, 0, 0, 0, 0]}
    rate = linhai.get("/api/v1/supervision/on-time", params={"from": "2020-01-01", "to": "2020-12-31"})
    assert rate.json()["items"][0]["rate"] == 1.0  # 100% in time
    # The 2019 layout: （六）其他处理 is one row with no items.
    old = linhai.get("/api/v1/reports/annual", params={"year": 2020, "agency": "linhai",
                                                       "layout": "2019"}).json()
    old_labels = [r["label"] for r in old["table_three"]]
    assert "（六）其他处理" in old_labels and "3.其他" not in old_labels
    assert {r["label"]: r["values"] for r in old["table_three"]}["（六）其他处理"][-1] == 8
    # The next year starts with the 10 carried over.
    rows_2021 = {r["label"]: r["values"] for r in linhai.get("/api/v1/reports/annual", params={
        "year": 2021, "agency": "linhai"}).json()["table_three"]}
    assert rows_2021["二、上年结转政府信息公开申请数量"][-1] == 10
    # Printed as agencies publish it: a page with no external asset, and a workbook.
    page = linhai.get("/api/v1/reports/annual", params={"year": 2020, "agency": "linhai",
                                                        "format": "html"})
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "临海市人民政府办公室2020年政府信息公开工作年度报告" in page.text
    assert "三、收到和处理政府信息公开申请情况" in page.text and "http" not in page.text
    book = linhai.get("/api/v1/reports/annual", params={"year": 2020, "agency": "linhai",
                                                        "format": "xlsx"})
    from openpyxl import load_workbook
    sheet = load_workbook(io.BytesIO(book.content)).worksheets[0]
    values = {sheet.cell(row=r, column=1).value: [sheet.cell(row=r, column=c).value for c in range(3, 10)]
              for r in range(5, sheet.max_row + 1)}
    assert values["一、本年新收政府信息公开申请数量"] == [239, 2, 2, 0, 1, 4, 248]
    assert values["四、结转下年度继续办理"][-1] == 10


def test_reconsiderations_and_lawsuits_are_counted_in_table_four(client, settings):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    fire(client, rid, "decide", "2026-03-05", outcome="withheld_internal_affairs",
         reason="所申请信息为本机关人事管理信息")
    client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "经审查"})
    early = client.post(f"/api/v1/requests/{rid}/challenges", json={
        "kind": "reconsideration", "filed_on": "2026-03-01", "body": "杭州市西湖区人民政府"})
    assert early.status_code == 422  # there is no reply yet
    legal_signoff(client, rid, "2026-03-06")
    fire(client, rid, "send_reply", "2026-03-06")
    r = client.post(f"/api/v1/requests/{rid}/challenges", json={
        "kind": "reconsideration", "filed_on": "2026-04-10", "body": "杭州市西湖区人民政府"})
    assert r.status_code == 201, r.text
    case = r.json()["items"][0]["id"]
    client.post(f"/api/v1/requests/{rid}/challenges/{case}/result",
                json={"result": "upheld", "decided_on": "2026-06-10"})
    client.post(f"/api/v1/requests/{rid}/challenges", json={
        "kind": "lawsuit", "filed_on": "2026-06-20", "body": "杭州市西湖区人民法院",
        "after_reconsideration": True})
    again = client.post(f"/api/v1/requests/{rid}/challenges/{case}/result",
                        json={"result": "corrected", "decided_on": "2026-06-11"})
    assert again.status_code == 422 and again.json()["detail"][0]["field"] == "note"
    authenticate(client, "li.na", "supervisor")
    four = client.get("/api/v1/reports/annual", params={"year": 2026}).json()["table_four"]
    assert [r["values"] for r in four["rows"]] == [[1, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 1, 1]]
    events = [e["event"] for e in client.get(f"/api/v1/requests/{rid}/history").json()["events"]]
    assert events[-3:] == ["record_challenge", "record_challenge_result", "record_challenge"]


def test_a_published_year_lists_later_changes_as_corrections(client, settings):
    rid = new_request(client, received_on="2025-12-01")["id"]
    fire(client, rid, "register", "2025-12-01")
    authenticate(client, "li.na", "supervisor")
    staff_report = _as(client, make_user(client.app.state.engine, "x.staff", "staff"))
    assert staff_report.get("/api/v1/reports/annual", params={"year": 2025}).status_code == 403
    published = client.post("/api/v1/reports/annual/publish", json={"year": 2025})
    assert published.status_code == 201, published.text
    assert client.post("/api/v1/reports/annual/publish", json={"year": 2025}).status_code == 409
    assert client.post("/api/v1/reports/annual/publish", json={"year": 2026}).status_code == 422
    # A decision later back-dated into 2025 changes the published figures: listed, not hidden.
    fire(client, rid, "review", "2025-12-02")
    fire(client, rid, "decide", "2025-12-20", outcome="unavailable_not_held")
    report = client.get("/api/v1/reports/annual", params={"year": 2025}).json()
    assert report["published"]["by"] == "li.na"
    changed = {(c["row"], c["column"]): (c["published"], c["now"]) for c in report["corrections"]}
    assert changed[("1.本机关不掌握相关政府信息", "总计")] == (0, 1)
    page = client.get("/api/v1/reports/annual", params={"year": 2025, "format": "html"}).text
    assert "更正情况" in page and "1.本机关不掌握相关政府信息" in page
    assert changed[("四、结转下年度继续办理", "总计")] == (1, 0)
