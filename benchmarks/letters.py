"""Benchmark: what a letter costs, and what the staff member waits for.

Run: .venv/bin/python benchmarks/letters.py [N]
Prints the median time to render a decision letter's HTML, to convert it to DOCX and to PDF
(the outbox's work), and the median latency of `send_reply` over HTTP (which renders only
the HTML) on the embedded SQLite database, over N requests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402

from access import tokens, users  # noqa: E402
from api.app import create_app  # noqa: E402
from core.config import Agency, Settings  # noqa: E402
from core.db import make_engine, session_scope  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from replies import service  # noqa: E402
from replies.formats import to_docx, to_pdf  # noqa: E402

APPLICANT = {"name": "李明", "kind": "natural_person"}


def _median_ms(fn, times: int) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=50)
    n = parser.parse_args().n
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    settings = Settings(data_dir=tmp, today_override=dt.date(2026, 12, 31), log_level="WARNING",
                        agency=Agency(name="杭州市西湖区人民政府办公室", abbr="西政办",
                                      review_body="杭州市西湖区人民政府", court="杭州市西湖区人民法院",
                                      address="杭州市西湖区文三路1号", phone="0571-87000000",
                                      contact_person="张伟"))
    client = TestClient(create_app(make_engine(url), settings))
    client.__enter__()  # the app's start-up fills the agency from the settings
    with session_scope(client.app.state.engine) as session:
        users.add_user(session, "bench", "staff", actor="bench", agency="main")
        _, token = tokens.create_token(session, "bench", days=1, actor="bench")
        session.commit()
    client.headers.update({"Authorization": f"Bearer {token}"})
    send_ms = []
    for _ in range(n):
        rid = client.post("/api/v1/requests", json={
            "applicant": APPLICANT, "channel": "post", "received_on": "2026-03-02",
            "description": "2025年本区老旧小区改造项目的资金使用明细"}).json()["id"]
        for event, body in (("register", {}), ("review", {}),
                            ("decide", {"outcome": "partially_disclosed", "reason": "涉及商业秘密",
                                        "withheld_ground": "withheld_third_party_rights"})):
            client.post(f"/api/v1/requests/{rid}/events/{event}", json={"on": "2026-03-10", **body})
        client.put(f"/api/v1/requests/{rid}/letters/draft", json={
            "findings": "该信息由本机关制作并保存", "provision": "现随本答复书提供",
            "withheld_parts": "施工单位报价明细"})
        start = time.perf_counter()
        sent = client.post(f"/api/v1/requests/{rid}/events/send_reply", json={"on": "2026-03-11"})
        send_ms.append((time.perf_counter() - start) * 1000)
        assert sent.status_code == 200, sent.text
    letters = client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]
    html = client.get(f"/api/v1/requests/{rid}/letters/{letters[-1]['id']}.html").text
    engine = make_engine(url)
    with session_scope(engine) as session:
        html_ms = _median_ms(lambda: service.preview(session, rid, settings=settings), n)
    docx_ms = _median_ms(lambda: to_docx(html, title="政府信息公开申请答复书"), n)
    to_pdf(html)  # the first PDF loads pango and the font
    pdf_ms = _median_ms(lambda: to_pdf(html), 5)
    print(f"requests: {n}; letter HTML: {len(html.encode())} bytes")
    print(f"render HTML (preview, facts from the database): median {html_ms:.1f} ms")
    print(f"HTML -> DOCX: median {docx_ms:.1f} ms   HTML -> PDF: median {pdf_ms:.0f} ms (outbox)")
    print(f"POST send_reply over HTTP (advance + HTML + audit): median {statistics.median(send_ms):.1f} ms, "
          f"max {max(send_ms):.1f} ms")


if __name__ == "__main__":
    main()
