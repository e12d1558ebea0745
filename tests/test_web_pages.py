"""The pages staff use, in Chinese, driven in a real headless Chromium (tests/browser.py): `/` leads
to the login page, a login opens the 台账, whose due dates are coloured and whose provisional
dates are marked; searches narrow it; it prints without its forms; nothing is fetched from any
host but the app. Form input is checked like the API's, on both databases."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import text
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from api.app import create_app
from audit.guards import drop_statements
from core.db import make_engine
from core.migrate import upgrade
from tests import browser
from tests.conftest import authenticate, fire, make_user, new_request

PASSWORD = "西湖 correct horse 7"

needs_chromium = pytest.mark.skipif(not browser.available() and not __import__("os").environ.get("CI"),
                                    reason="chromium and chromium-driver are installed by `make setup`")


def _seed(client) -> dict[str, dict]:
    """Three requests as of 2026-12-31 (the tests' today): one overdue, one due today, one whose
    period runs into 2027 — a year whose holiday notice the calendar does not hold yet."""
    authenticate(client, "seed.staff")
    made = {
        "overdue": new_request(client, received_on="2026-12-01"),
        "due_today": new_request(client, received_on="2026-12-03",
                                 applicant={"name": "王芳", "kind": "natural_person",
                                            "phone": "13900139000"},
                                 description="西湖区2026年道路养护合同及验收报告"),
        "provisional": new_request(client, received_on="2026-12-28",
                                   applicant={"name": "浙江某某律师事务所", "kind": "legal_service",
                                              "phone": "0571-88000000"},
                                   description="文三路拓宽工程的征收补偿方案"),
    }
    client.headers.pop("Authorization")
    return made


@pytest.fixture
def sqlite_app(tmp_path, settings):
    url = f"sqlite:///{tmp_path / 'gongkai.db'}"
    upgrade(url)
    engine = make_engine(url)
    app = create_app(engine, settings)
    with TestClient(app) as client:
        made = _seed(client)
        make_user(engine, "li.na", "staff", password=PASSWORD, display_name="李娜")
        yield app, made


@needs_chromium
def test_a_staff_member_is_led_to_the_login_page_and_reads_the_ledger_in_a_real_browser(sqlite_app):
    app, made = sqlite_app
    with browser.live(app) as base, browser.chromium() as driver:
        driver.get(base + "/")
        assert driver.current_url == base + "/login"
        assert driver.find_element(By.TAG_NAME, "h1").text == "登录"
        browser.screenshot(driver, "login")

        driver.find_element(By.NAME, "username").send_keys("li.na")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        _submit(driver, "form.stack")
        assert driver.current_url == base + "/ledger"
        assert driver.find_element(By.TAG_NAME, "h1").text == "依申请公开台账"
        assert "共 3 件" in driver.find_element(By.CSS_SELECTOR, "p.summary").text

        rows = {r.find_element(By.CSS_SELECTOR, "td").text: r
                for r in driver.find_elements(By.CSS_SELECTOR, "table.ledger tbody tr")}
        overdue = rows[made["overdue"]["number"]]
        assert overdue.get_attribute("class") == "overdue"
        assert [c.text for c in overdue.find_elements(By.TAG_NAME, "td")][5:7] == ["2026-12-29", "超期2日"]
        due_today = rows[made["due_today"]["number"]]
        assert due_today.get_attribute("class") == "due-soon"
        assert [c.text for c in due_today.find_elements(By.TAG_NAME, "td")][5:7] == ["2026-12-31", "0"]
        provisional = rows[made["provisional"]["number"]]
        assert provisional.get_attribute("class") == ""
        # 2027's notice is not loaded: counted on the statutory holidays alone (元旦 a Friday).
        assert provisional.find_elements(By.TAG_NAME, "td")[5].text == "2027-01-26 暂定"
        # The colours are the stylesheet's, served by the app.
        assert overdue.find_element(By.TAG_NAME, "td").value_of_css_property(
            "background-color") == "rgba(253, 226, 225, 1)"
        browser.screenshot(driver, "ledger")
        browser.screenshot(driver, "ledger-print", media="print")
        assert browser.foreign_resources(driver, base) == []

        driver.find_element(By.NAME, "keywords").send_keys("道路 验收")
        _submit(driver, "form.filters")
        numbers = [r.find_element(By.TAG_NAME, "td").text
                   for r in driver.find_elements(By.CSS_SELECTOR, "table.ledger tbody tr")]
        assert numbers == [made["due_today"]["number"]]
        browser.screenshot(driver, "ledger-search")

        _submit(driver, "header .who form")
        assert driver.current_url == base + "/login"
        driver.get(base + "/ledger")
        assert driver.current_url == base + "/login?next=%2Fledger"


def _submit(driver, form: str) -> None:
    """Submit the form and wait until the next page has replaced this one."""
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, f"{form} button[type=submit]").click()
    WebDriverWait(driver, 15).until(lambda d: d.find_element(By.TAG_NAME, "html") != old
                                    and d.execute_script("return document.readyState") == "complete")


def _login(client, username: str = "li.na") -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "next": "/ledger"}, follow_redirects=False)
    assert response.status_code == 303, response.text


def _error(response) -> str:
    found = re.findall(r'class="error" role="alert">([^<]*)<', response.text)
    return found[0] if found else ""


def test_the_ledger_checks_each_search_field_and_names_it_in_chinese(client):
    _seed(client)
    make_user(client.app.state.engine, "li.na", "staff", password=PASSWORD)
    _login(client)
    for query, message in (
            ({"applicant": "李\x00明"}, "申请人：不能含有控制字符"),
            ({"keywords": "道路\x1b[2J"}, "关键词：不能含有控制字符"),
            ({"number": "x" * 65}, "编号：不能超过64个字"),
            ({"received_from": "2026-02-30"}, "收到日期（起）：请按“年-月-日”填写，如 2026-03-02"),
            ({"received_from": "9999-01-01"}, "收到日期（起）：年份应在2000年至2100年之间"),
            ({"received_from": "2026-12-10", "received_to": "2026-12-01"},
             "收到日期（止）：不能早于收到日期（起）"),
            ({"state": "lost"}, "办理阶段：不是可选的值"),
            ({"due": "tomorrow"}, "期限：不是可选的值"),
            ({"page": str(10**30)}, "页码：应为1至10000之间的整数"),
            ({"page": "-1"}, "页码：应为1至10000之间的整数"),
            ({"page": "１"}, "页码：应为1至10000之间的整数")):
        response = client.get("/ledger", params=query)
        assert (response.status_code, _error(response)) == (422, message), query
    # Each filter narrows the ledger to what it names.
    for query, count in (({}, 3), ({"applicant": "王"}, 1), ({"number": "2026-00000"}, 3),
                         ({"keywords": "征收 补偿"}, 1), ({"keywords": "征收 道路"}, 0),
                         ({"received_from": "2026-12-02"}, 2),
                         ({"received_from": "2026-12-02", "received_to": "2026-12-27"}, 1),
                         ({"state": "received"}, 3), ({"state": "registered"}, 0),
                         ({"due": "overdue"}, 1), ({"due": "due_soon"}, 1), ({"page": "99"}, 3),
                         ({"applicant": "100%_"}, 0)):
        response = client.get("/ledger", params=query)
        assert response.status_code == 200, (query, response.text)
        assert f"共 {count} 件" in response.text, query


def test_pages_need_a_login_and_forms_need_the_sessions_csrf_token(client):
    client.headers.pop("Authorization")
    make_user(client.app.state.engine, "li.na", "staff", password=PASSWORD)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    response = client.get("/ledger?state=received", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (
        303, "/login?next=%2Fledger%3Fstate%3Dreceived")
    # A wrong password is refused on the page, in Chinese, and recorded like the API's.
    response = client.post("/login", data={"username": "li.na", "password": "nope"})
    assert (response.status_code, _error(response)) == (401, "用户名或密码不正确。")
    response = client.post("/login", data={"username": "li.na\x00", "password": "nope"})
    assert (response.status_code, _error(response)) == (422, "用户名：不能含有控制字符")
    # After the login only a path of this site: never another host.
    for target, lands in (("//evil.example/x", "/"), ("https://evil.example/", "/"),
                          ("/ledger?due=overdue", "/ledger?due=overdue")):
        response = client.post("/login", data={"username": "li.na", "password": PASSWORD,
                                               "next": target}, follow_redirects=False)
        assert response.headers["location"] == lands
    assert client.get("/", follow_redirects=False).headers["location"] == "/ledger"
    response = client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 403 and "操作未执行" in response.text
    assert client.get("/ledger").status_code == 200  # still logged in
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ledger").text).group(1)
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.headers["location"] == "/login"
    assert client.get("/ledger", follow_redirects=False).status_code == 303


def test_staff_of_a_unit_see_only_their_units_requests_in_the_ledger(client):
    engine = client.app.state.engine
    authenticate(client, "admin.one", "admin")
    assert client.post("/api/v1/agencies/main/units", json={"name": "住建科"}).status_code == 201
    authenticate(client, "unit.clerk", "staff", unit="住建科")
    mine = new_request(client, received_on="2026-12-01")
    authenticate(client, "office.clerk", "staff")
    new_request(client, received_on="2026-12-02")
    client.headers.pop("Authorization")
    make_user(engine, "unit.reader", "staff", unit="住建科", password=PASSWORD)
    _login(client, "unit.reader")
    page = client.get("/ledger").text
    assert "共 1 件" in page and mine["number"] in page


def _act(driver, event: str, **fields) -> None:
    """Open the action `event` on the request page, fill its fields and submit it."""
    form = driver.find_element(By.CSS_SELECTOR, f"form[data-event={event}]")
    details = form.find_element(By.XPATH, "./ancestor::details")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()
    for name, value in fields.items():
        element = form.find_element(By.NAME, name)
        if element.tag_name == "select":
            element.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
        else:
            element.clear()
            element.send_keys(value)
    _submit(driver, f"form[data-event={event}]")


def _stage(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "h1 .stage").text


def _login_in_browser(driver, base: str, username: str, password: str = PASSWORD) -> None:
    driver.get(base + "/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    _submit(driver, "form.stack")


@needs_chromium
def test_a_request_goes_from_intake_to_archive_through_the_pages(sqlite_app, tmp_path):
    app, _ = sqlite_app
    scan = tmp_path / "申请书扫描件.png"
    scan.write_bytes(PNG)
    with browser.live(app) as base, browser.chromium() as driver:
        _login_in_browser(driver, base, "li.na")
        driver.find_element(By.LINK_TEXT, "接收申请").click()
        assert driver.find_element(By.TAG_NAME, "h1").text == "接收政府信息公开申请"
        for name, value in (("applicant.name", "陈晓"), ("applicant.phone", "13700137000"),
                            ("applicant.address", "杭州市西湖区文一路2号"),
                            ("received_on", "2026-12-01"), ("requested_form", "电子邮件"),
                            ("description", "2026年西湖区文三路拓宽工程的立项批复文件")):
            field = driver.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        driver.find_element(By.NAME, "application_files").send_keys(str(scan))
        browser.screenshot(driver, "intake-form")
        _submit(driver, "form.intake")
        assert re.fullmatch(re.escape(base) + r"/requests/\d+", driver.current_url)
        number = driver.find_element(By.CSS_SELECTOR, "h1").text.split()[0]
        assert (number, _stage(driver)) == ("2026-000004", "接收")
        assert driver.find_element(By.CSS_SELECTOR, "#attachments ~ table td a").text == "申请书扫描件.png"
        # The clock as an officer counts it: 20 working days from 1 December 2026.
        assert driver.find_element(By.CSS_SELECTOR, "p.due").text.startswith("2026-12-29")

        _act(driver, "register", assignee="李娜", department="住建局")
        assert _stage(driver) == "登记"
        _act(driver, "review")
        assert _stage(driver) == "审核"
        _act(driver, "review_confidentiality", conclusion="disclosable", basis="不涉及国家秘密、工作秘密")
        _act(driver, "decide", outcome="disclosed")
        assert _stage(driver) == "已决定"
        # The draft saves itself as it is typed, and the preview beside it follows.
        findings = driver.find_element(By.CSS_SELECTOR, "#draft-form textarea[name=findings]")
        findings.send_keys("您申请的立项批复文件由本机关制作并保存")
        driver.find_element(By.CSS_SELECTOR, "#draft-form textarea[name=provision]").send_keys(
            "现通过电子邮件提供")
        WebDriverWait(driver, 15).until(
            lambda d: d.find_element(By.ID, "draft-status").text.startswith("已保存"))
        driver.switch_to.frame(driver.find_element(By.ID, "draft-preview"))
        WebDriverWait(driver, 15).until(
            lambda d: "现通过电子邮件提供" in d.find_element(By.TAG_NAME, "body").text)
        driver.switch_to.default_content()
        browser.screenshot(driver, "request-draft")
        _act(driver, "send_reply")
        assert _stage(driver) == "已答复"
        titles = [td.text for td in driver.find_elements(By.CSS_SELECTOR,
                                                           "#letters ~ table tbody tr td:first-child")]
        assert titles[-1] == "政府信息公开申请答复书"
        _act(driver, "archive")
        assert _stage(driver) == "归档"
        events = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "ol.timeline > li > strong")]
        assert events[:2] == ["归档", "制发文书"] and events[-1] == "接收"
        assert "送出答复" in events and "作出答复决定" in events and "保密审查" in events
        browser.screenshot(driver, "request-archived")
        browser.screenshot(driver, "request-archived-print", media="print")
        assert browser.foreign_resources(driver, base) == []


@needs_chromium
def test_a_supervisor_approves_an_extension_that_staff_asked_for_on_the_page(sqlite_app):
    app, made = sqlite_app
    make_user(app.state.engine, "chen.jing", "supervisor", password=PASSWORD, display_name="陈静")
    rid = made["due_today"]["id"]
    with browser.live(app) as base, browser.chromium() as driver:
        _login_in_browser(driver, base, "li.na")
        driver.get(f"{base}/requests/{rid}")
        _act(driver, "register")
        _act(driver, "review")
        _act(driver, "request_extension", days="15", reason="需征求第三方意见，不能按期答复")
        assert "延期申请待批准：15个工作日" in driver.find_element(By.ID, "clock").find_element(
            By.XPATH, "..").text
        assert driver.find_elements(By.CSS_SELECTOR, "form[data-event=approve_extension]") == []
        _submit(driver, "header .who form")

        _login_in_browser(driver, base, "chen.jing")
        driver.get(f"{base}/requests/{rid}")
        _act(driver, "approve_extension")
        clock = driver.find_element(By.ID, "clock").find_element(By.XPATH, "..").text
        # 31 December plus 15 working days, 2027's New Year (a Friday) counted provisionally.
        assert "2027-01-22 暂定" in clock
        assert "已延长15个工作日（陈静于2026-12-31批准：需征求第三方意见，不能按期答复）" in clock
        browser.screenshot(driver, "extension-approved")


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
       b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _intake(client, files, **fields):
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/requests/new").text).group(1)
    data = {"csrf_token": csrf, "applicant.name": "陈晓", "applicant.kind": "natural_person",
            "channel": "post", "received_on": "2026-12-01",
            "description": "2026年西湖区文三路拓宽工程的立项批复文件", **fields}
    return client.post("/requests/new", data=data, files=files, follow_redirects=False)


def test_scans_received_with_a_request_are_kept_as_received_with_their_hash_in_the_history(client):
    engine = client.app.state.engine
    client.headers.pop("Authorization")
    make_user(engine, "li.na", "staff", password=PASSWORD)
    _login(client)
    response = _intake(client, [("application_files", ("C:\\扫描件\\申请书.png", PNG, "image/png")),
                                ("identity_files", ("身份证.pdf", PDF, "application/pdf"))])
    assert response.status_code == 303, _error(response)
    page = client.get(response.headers["location"])
    rid = int(response.headers["location"].rsplit("/", 1)[1])
    assert "申请书.png" in page.text and "身份证.pdf" in page.text
    ids = [int(i) for i in re.findall(rf'href="/requests/{rid}/attachments/(\d+)"', page.text)]
    got = client.get(f"/requests/{rid}/attachments/{ids[0]}")
    assert (got.status_code, got.content, got.headers["content-type"]) == (200, PNG, "image/png")
    assert got.headers["x-content-sha256"] == hashlib.sha256(PNG).hexdigest()
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''%E7%94%B3%E8%AF%B7%E4%B9%A6.png"
    # Each file is an event of the request's hash chain, which verifies.
    authenticate(client, "reader.one", "legal")
    history = client.get(f"/api/v1/requests/{rid}/history").json()
    attached = [e["data"] for e in history["events"] if e["event"] == "attach_file"]
    assert [(a["kind"], a["filename"], a["sha256"], a["size"]) for a in attached] == [
        ("application", "申请书.png", hashlib.sha256(PNG).hexdigest(), len(PNG)),
        ("identity", "身份证.pdf", hashlib.sha256(PDF).hexdigest(), len(PDF))]
    assert history["verified"] is True
    # The database refuses to change or remove a file.
    for statement in ("UPDATE attachment SET content = :x", "DELETE FROM attachment"):
        with pytest.raises(Exception), engine.begin() as conn:
            conn.execute(text(statement), {"x": b"forged"})
    # A file changed behind the triggers' back is refused on download, not served.
    with engine.begin() as conn:
        for statement in drop_statements(engine.dialect.name, "attachment"):
            conn.execute(text(statement))
        conn.execute(text("UPDATE attachment SET content = :x, sha256 = :h WHERE id = :i"),
                     {"x": PNG + b"x", "h": hashlib.sha256(PNG + b"x").hexdigest(), "i": ids[0]})
    client.headers.pop("Authorization")
    altered = client.get(f"/requests/{rid}/attachments/{ids[0]}")
    assert altered.status_code == 409 and "附件已被改动" in altered.text


def test_attachments_are_checked_by_content_size_and_number(engine, tmp_path):
    from core.config import Settings
    from tests.conftest import AGENCY, TODAY
    settings = Settings(data_dir=tmp_path, today_override=TODAY, agency=AGENCY,
                        attachment_max_bytes=2048, attachments_per_request=2)
    with TestClient(create_app(engine, settings)) as client:
        make_user(engine, "li.na", "staff", password=PASSWORD)
        _login(client)
        for files, message in (
                ([("application_files", ("申请书.pdf", b"not really a pdf", "application/pdf"))],
                 "附件：只接受PDF、JPEG、PNG或TIFF文件（按文件内容判断）"),
                ([("application_files", ("大.png", PNG + b"\x00" * 4096, "image/png"))],
                 "附件：“大.png”超过0MB"),
                ([("other_files", (f"{n}.png", PNG, "image/png")) for n in range(3)],
                 "附件：本申请的附件已达上限")):
            response = _intake(client, files)
            assert (response.status_code, _error(response)) == (422, message)
        # Refused whole: no request was received with a refused file.
        assert "共 0 件" in client.get("/ledger").text
        ok = _intake(client, [("other_files", ("a.png", PNG, "image/png"))])
        assert ok.status_code == 303


def test_the_ledger_exports_to_excel_what_the_search_finds(client):
    import io

    from openpyxl import load_workbook
    made = _seed(client)
    make_user(client.app.state.engine, "li.na", "staff", password=PASSWORD)
    _login(client)
    response = client.get("/ledger.xlsx", params={"received_from": "2026-12-02"})
    assert response.status_code == 200
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["编号", "收到日期", "申请方式", "申请人", "申请人类型", "申请内容", "办理阶段", "承办部门",
                       "承办人", "答复期限", "期限暂定", "剩余工作日", "超期", "答复日期", "处理结果"]
    assert [r[:4] + r[6:7] + r[9:13] for r in rows[1:]] == [
        [made["provisional"]["number"], dt.datetime(2026, 12, 28), "当面提交", "浙江某某律师事务所", "接收",
         dt.datetime(2027, 1, 26), "是", 17, ""],
        [made["due_today"]["number"], dt.datetime(2026, 12, 3), "当面提交", "王芳", "接收",
         dt.datetime(2026, 12, 31), "", 0, ""]]
    bad = client.get("/ledger.xlsx", params={"received_from": "yesterday"})
    assert bad.status_code == 422 and "收到日期（起）" in bad.text


@needs_chromium
def test_a_legal_reviewer_reads_a_history_and_sees_where_it_was_tampered_with(sqlite_app, settings):
    from tests.test_audit_checkpoints import _rewrite_chain, _tamper
    from workflows.checkpoints import take_checkpoint
    app, made = sqlite_app
    engine = app.state.engine
    make_user(engine, "zhao.lei", "legal", password=PASSWORD, display_name="赵磊")
    honest, edited, rewritten = made["overdue"]["id"], made["due_today"]["id"], made["provisional"]["id"]
    with TestClient(app) as client:
        authenticate(client, "seed.staff")
        for rid in (honest, edited, rewritten):
            fire(client, rid, "register", "2026-12-31", assignee="李娜")
    take_checkpoint(engine, settings)
    with TestClient(app) as client:
        authenticate(client, "seed.staff")
        fire(client, honest, "review", "2026-12-31")  # after the checkpoint: not covered yet
    # A superuser edits one event's payload in place, and rewrites another chain consistently.
    _tamper(engine, "sqlite", ("UPDATE audit_event SET data = replace(data, '李娜', '王五') "
                               "WHERE request_id = :r AND seq = 2", {"r": edited}))
    _rewrite_chain(engine, "sqlite", rewritten, 2, "李娜", "王五")

    with browser.live(app) as base, browser.chromium() as driver:
        _login_in_browser(driver, base, "zhao.lei")
        driver.get(f"{base}/requests/{honest}")
        verdict = driver.find_element(By.CSS_SELECTOR, ".verdict")
        assert verdict.get_attribute("class") == "verdict ok"
        assert verdict.text.splitlines() == [
            "✓ 哈希链校验通过：第1至第4条记录逐条重算哈希、前后相接，链头与申请记录一致（链头 "
            + verdict.find_element(By.TAG_NAME, "code").text + "）。",
            "✓ 签名检查点：第1号检查点（" + verdict.text.split("第1号检查点（")[1].split("签名）")[0]
            + "签名）包含本申请第1至第3条记录，包含证明成立——这些记录在签名后未被改动或删除；第4条记录晚于该检查点，尚未纳入。"]
        # The legal reviewer signs off nothing here: the actions are the legal role's only.
        assert [f.get_attribute("data-event") for f in driver.find_elements(
            By.CSS_SELECTOR, "form[data-event]")] == ["review_confidentiality"]
        browser.screenshot(driver, "history-verified")

        driver.get(f"{base}/requests/{edited}")
        verdict = driver.find_element(By.CSS_SELECTOR, ".verdict")
        assert verdict.get_attribute("class") == "verdict broken"
        assert verdict.text.splitlines()[0] == (
            "✗ 哈希链校验未通过：第2条记录起不可信：第2条记录写入后被改动。"
            "本页所列该条及其后的记录不能作为依据，请通知系统管理员并保全数据库。")
        untrusted = driver.find_elements(By.CSS_SELECTOR, "ol.timeline > li.untrusted strong")
        assert [u.text for u in untrusted] == ["制发文书", "登记"]
        browser.screenshot(driver, "history-tampered")

        driver.get(f"{base}/requests/{rewritten}")
        verdict = driver.find_element(By.CSS_SELECTOR, ".verdict")
        assert verdict.get_attribute("class") == "verdict broken"
        lines = verdict.text.splitlines()
        assert lines[0].startswith("✓ 哈希链校验通过")  # rewritten consistently: alone it holds
        assert lines[1].startswith("✗ 签名检查点不成立：第1号检查点（") and lines[1].endswith(
            "与现有记录不符：第3条记录已推不出签名时的默克尔树根：签名后有记录被改动。")
        browser.screenshot(driver, "history-rewritten")


@needs_chromium
def test_the_supervisors_dashboard_shows_what_is_late_and_approves_from_its_inbox(sqlite_app):
    app, made = sqlite_app
    engine = app.state.engine
    make_user(engine, "chen.jing", "supervisor", password=PASSWORD, display_name="陈静")
    rid = made["due_today"]["id"]
    with TestClient(app) as client:
        authenticate(client, "seed.staff")
        fire(client, rid, "register", "2026-12-31", department="住建局")
        fire(client, rid, "review", "2026-12-31")
        fire(client, rid, "request_extension", "2026-12-31", days=10, reason="需要调取档案")
    with browser.live(app) as base, browser.chromium() as driver:
        _login_in_browser(driver, base, "chen.jing")
        driver.get(base + "/dashboard")
        tiles = [t.text.split("\n") for t in driver.find_elements(By.CSS_SELECTOR, ".tile")]
        assert tiles == [["1", "已超期"], ["1", "即将到期"], ["1", "待审批"], ["—", "2026年按期答复率（0/0件）"]]
        assert driver.find_element(By.CSS_SELECTOR, "#approvals ~ table td:nth-child(2)").text == (
            "延期10个工作日：需要调取档案")
        bars = {b.find_element(By.CLASS_NAME, "label").text: b.find_element(By.CLASS_NAME, "n").text
                for b in driver.find_elements(By.CSS_SELECTOR, "#stages ~ .bar")}
        assert (bars["接收"], bars["审核"]) == ("2", "1")
        departments = [b.text.replace("\n", " ") for b in driver.find_elements(
            By.CSS_SELECTOR, "#departments ~ .bar")]
        assert departments == ["住建局 3"]
        months = [b.text.split("\n") for b in driver.find_elements(By.CSS_SELECTOR, "#ontime ~ .bar")]
        assert months == [[f"{m}月", "—"] for m in range(1, 13)]  # nothing replied this year yet
        browser.screenshot(driver, "dashboard")
        _submit(driver, f"form[data-approve='{made['due_today']['number']}']")
        assert driver.current_url == base + "/dashboard"
        assert driver.find_element(By.CSS_SELECTOR, "#approvals ~ p").text == "没有待审批的事项。"
        driver.get(f"{base}/requests/{rid}")
        assert "已延长10个工作日（陈静于2026-12-31批准：需要调取档案）" in driver.find_element(
            By.ID, "clock").find_element(By.XPATH, "..").text

        driver.find_element(By.LINK_TEXT, "年度报告").click()
        assert driver.find_element(By.TAG_NAME, "h1").text == "政府信息公开工作年度报告（2025年）"
        driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, "iframe.report"))
        WebDriverWait(driver, 15).until(lambda d: "三、收到和处理政府信息公开申请情况" in d.find_element(
            By.TAG_NAME, "body").text)
        driver.switch_to.default_content()
        browser.screenshot(driver, "annual-report")
        assert browser.foreign_resources(driver, base) == []


@needs_chromium
def test_the_api_docs_render_offline_in_the_browser(sqlite_app):
    app, _ = sqlite_app
    with browser.live(app) as base, browser.chromium() as driver:
        driver.get(base + "/docs")
        WebDriverWait(driver, 20).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 50)
        assert "Unable to render this definition" not in driver.find_element(By.TAG_NAME, "body").text
        assert browser.foreign_resources(driver, base) == []
        browser.screenshot(driver, "api-docs")


def _csrf(page: str) -> tuple[str, str]:
    return (re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            re.search(r'name="expected_version" value="(\d+)"', page).group(1))


def _post_action(client, rid: int, event: str, **fields):
    csrf, version = _csrf(client.get(f"/requests/{rid}").text)
    return client.post(f"/requests/{rid}/events/{event}", follow_redirects=False,
                       data={"csrf_token": csrf, "expected_version": version, "on": "2026-12-31",
                             **fields})


def test_a_partial_disclosure_names_each_withheld_part_and_its_ground_on_the_page(client):
    made = _seed(client)
    make_user(client.app.state.engine, "li.na", "staff", password=PASSWORD)
    _login(client)
    rid = made["provisional"]["id"]
    for event in ("register", "review"):
        assert _post_action(client, rid, event).status_code == 303
    bad = _post_action(client, rid, "review_confidentiality", conclusion="partly_disclosable",
                       basis="涉及第三方商业秘密", redactions="报价单 保护第三方合法权益")
    assert (bad.status_code, _error(bad)) == (422, "不予公开或去标识化的内容（每行一项：内容｜理由）："
                                                   "第1行应写作“内容｜理由”，理由为属于国家秘密、其他法律行政法规禁止公开、"
                                                   "危及“三安全一稳定”、保护第三方合法权益、属于三类内部事务信息、属于四类过程性信息、"
                                                   "属于行政执法案卷、属于行政查询事项或个人隐私")
    ok = _post_action(client, rid, "review_confidentiality", conclusion="partly_disclosable",
                      basis="涉及第三方商业秘密",
                      redactions="某公司的报价单｜保护第三方合法权益\r\n征收对象的身份证号码|个人隐私")
    assert ok.status_code == 303, _error(ok)
    unexplained = _post_action(client, rid, "decide", outcome="partially_disclosed",
                               withheld_ground="withheld_third_party_rights")
    # The one door's own rule, in Chinese on the page.
    assert (unexplained.status_code, _error(unexplained)) == (422, "理由：“部分公开”须说明理由")
    decided = _post_action(client, rid, "decide", outcome="partially_disclosed",
                           withheld_ground="withheld_third_party_rights",
                           reason="报价单属于第三方商业秘密，公开会损害其合法权益")
    assert decided.status_code == 303, _error(decided)
    authenticate(client, "reader.two", "legal")
    view = client.get(f"/api/v1/requests/{rid}").json()
    assert view["confidentiality_review"]["redactions"] == [
        {"part": "某公司的报价单", "ground": "withheld_third_party_rights"},
        {"part": "征收对象的身份证号码", "ground": "privacy"}]
    assert view["decision"]["outcome"] == "partially_disclosed"


def test_an_objection_overridden_in_the_public_interest_is_decided_on_the_page(client):
    made = _seed(client)
    make_user(client.app.state.engine, "li.na", "staff", password=PASSWORD)
    _login(client)
    rid = made["provisional"]["id"]
    for event, fields in (("register", {}), ("review", {}),
                          ("open_consultation", {"party": "third_party", "name": "某建筑公司"})):
        assert _post_action(client, rid, event, **fields).status_code == 303
    page = client.get(f"/requests/{rid}").text
    consultation = re.search(r'<select name="consultation_id" required>\s*<option value="(\d+)"', page).group(1)
    assert _post_action(client, rid, "close_consultation", consultation_id=consultation,
                        opinion="objection").status_code == 303
    assert _post_action(client, rid, "review_confidentiality", conclusion="disclosable",
                        basis="不涉及国家秘密").status_code == 303
    bad = _post_action(client, rid, "decide", outcome="disclosed", overrides="某建筑公司｜全部")
    assert (bad.status_code, _error(bad)) == (
        422, "第三方不同意仍予公开的（第三十二条，每行一项：征求意见编号｜公开的内容｜理由）："
             "第1行应写作“征求意见编号｜公开的内容｜理由”")
    ok = _post_action(client, rid, "decide", outcome="disclosed",
                      overrides=f"{consultation}｜征收补偿方案全文｜涉及公众切身利益，不公开会对公共利益造成重大影响")
    assert ok.status_code == 303, _error(ok)
    authenticate(client, "reader.three", "legal")
    decision = client.get(f"/api/v1/requests/{rid}").json()["decision"]
    assert decision["overrides"] == [{"consultation_id": int(consultation), "disclosed": "征收补偿方案全文",
                                      "reason": "涉及公众切身利益，不公开会对公共利益造成重大影响"}]


def test_hostile_paths_and_forms_of_the_pages_get_a_page_never_a_500(client):
    made = _seed(client)
    make_user(client.app.state.engine, "li.na", "staff", password=PASSWORD)
    _login(client)
    rid = made["overdue"]["id"]
    csrf, version = _csrf(client.get(f"/requests/{rid}").text)
    for path in ("/requests/0", "/requests/abc", "/requests/%00", "/requests/" + "9" * 30,
                 f"/requests/{rid}/attachments/x", f"/requests/{rid}/attachments/99999999999",
                 f"/requests/{rid}/attachments/1", "/requests/-1/draft/preview",
                 "/reports/annual?year=1e3", "/reports/annual?year=%00"):
        response = client.get(path)
        assert response.status_code in (403, 404, 422), (path, response.status_code)
    for event, fields in (("register", {"on": "2026-12-31\x00"}), ("register", {"on": "9" * 40}),
                          ("register", {"assignee": "李\x1b娜"}), ("register", {"assignee": "x" * 201}),
                          ("request_extension", {"days": "10" * 20}), ("no_such_event", {}),
                          ("register", {"expected_version": "9" * 30}),
                          ("close_consultation", {"consultation_id": "1e9"})):
        response = client.post(f"/requests/{rid}/events/{event}", data={
            "csrf_token": csrf, "expected_version": version, "on": "2026-12-31", **fields})
        assert response.status_code in (403, 409, 422), (event, fields, response.status_code)
    assert client.post(f"/requests/{rid}/events/register", data={"on": "2026-12-31"}).status_code == 403
    assert client.post(f"/requests/{rid}/draft", data={"csrf_token": csrf, "findings": "x\x00"}
                       ).status_code == 422
    assert client.post(f"/requests/{rid}/letters/x/service", data={"csrf_token": csrf}).status_code == 422
    assert client.post(f"/requests/{rid}/attachments", data={"csrf_token": csrf}).status_code == 422
    # Nothing of it reached the request: still as received, one event.
    authenticate(client, "reader.four", "legal")
    assert client.get(f"/api/v1/requests/{rid}").json()["version"] == int(version)


def test_an_admin_manages_accounts_and_does_not_read_requests_through_the_pages(client):
    made = _seed(client)
    make_user(client.app.state.engine, "root.admin", "admin", password=PASSWORD)
    _login(client, "root.admin")
    assert client.get("/", follow_redirects=False).headers["location"] == "/docs"
    rid = made["overdue"]["id"]
    for path in (f"/requests/{rid}", "/ledger", "/ledger.xlsx", "/dashboard",
                 f"/requests/{rid}/draft/preview", "/requests/new"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "李明" not in response.text


def test_forged_tokens_and_files_in_text_fields_are_refused_not_a_500(client):
    made = _seed(client)
    make_user(client.app.state.engine, "li.na", "staff", password=PASSWORD)
    response = client.post("/login", files={"username": ("u.txt", b"li.na"), "password": (None, "x")})
    assert response.status_code == 422
    _login(client)
    rid = made["overdue"]["id"]
    for path in ("/logout", f"/requests/{rid}/events/register", f"/requests/{rid}/draft"):
        assert client.post(path, data={"csrf_token": "é", "on": "2026-12-31"}).status_code == 403
    csrf, _ = _csrf(client.get(f"/requests/{rid}").text)
    response = client.post(f"/requests/{rid}/letters/1/service",
                           data={"csrf_token": csrf}, files={"served_on": ("d.txt", b"2026-12-31")})
    assert response.status_code == 422


def test_what_applicants_typed_stays_text_in_the_excel_export(client):
    import io

    from openpyxl import load_workbook
    authenticate(client, "seed.staff")
    new_request(client, received_on="2026-12-01",
                applicant={"name": '=HYPERLINK("http://evil.example","点我")', "kind": "natural_person",
                           "phone": "13900139000"})
    client.headers.pop("Authorization")
    make_user(client.app.state.engine, "li.na", "staff", password=PASSWORD)
    _login(client)
    sheet = load_workbook(io.BytesIO(client.get("/ledger.xlsx").content)).active
    cell = sheet.cell(row=2, column=4)
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://evil.example","点我")', "s")


def test_a_checkpoint_re_signed_with_another_key_is_not_shown_as_proof(client, settings):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit import checkpoint as cp
    from workflows.checkpoints import take_checkpoint
    engine = client.app.state.engine
    made = _seed(client)
    take_checkpoint(engine, settings)
    authenticate(client, "seed.staff")
    fire(client, made["overdue"]["id"], "register", "2026-12-31")
    # Someone with the database but not the key: the checkpoint rows replaced by their own.
    from tests.test_audit_checkpoints import _tamper
    _tamper(engine, engine.dialect.name, ("DELETE FROM audit_checkpoint", {}),
            tables=("audit_checkpoint",))
    cp.take(engine, Ed25519PrivateKey.generate())
    client.headers.pop("Authorization")
    make_user(engine, "li.na", "staff", password=PASSWORD)
    _login(client)
    page = client.get(f"/requests/{made['overdue']['id']}").text
    assert "✗ 签名检查点不成立</strong>：第1号检查点不是用本系统的签名密钥签的。" in page


def test_an_oversized_upload_a_foreign_login_form_and_a_bad_upload_limit_are_refused(client):
    from pydantic import ValidationError

    from core.config import Settings
    make_user(client.app.state.engine, "li.na", "staff", password=PASSWORD)
    _login(client)
    settings = client.app.state.settings
    big = b"%PDF-" + b"0" * (settings.max_upload_bytes + 1)
    response = _intake(client, [("other_files", ("big.pdf", big, "application/pdf"))])
    assert response.status_code == 413 and "提交的内容过大" in response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "共 0 件" in client.get("/ledger").text
    foreign = client.post("/login", data={"username": "li.na", "password": PASSWORD},
                          headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    with pytest.raises(ValidationError, match="max_upload_bytes must be at least attachment_max_bytes"):
        Settings(attachment_max_bytes=10_000_000, max_upload_bytes=5_000_000)


def test_the_ledgers_due_soon_filter_counts_what_the_dashboard_counts(client):
    made = _seed(client)
    authenticate(client, "seed.staff")
    rid = made["due_today"]["id"]
    fire(client, rid, "register", "2026-12-03")
    fire(client, rid, "review", "2026-12-03")
    fire(client, rid, "open_consultation", "2026-12-04", party="third_party", name="某建筑公司")
    client.headers.pop("Authorization")
    make_user(client.app.state.engine, "chen.jing", "supervisor", password=PASSWORD)
    _login(client, "chen.jing")
    tile = re.search(r'href="/ledger\?due=due_soon"><span class="n">(\d+)</span>',
                     client.get("/dashboard").text).group(1)
    ledger = re.search(r"共 (\d+) 件", client.get("/ledger", params={"due": "due_soon"}).text).group(1)
    assert tile == ledger
