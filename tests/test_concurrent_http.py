"""Eight staff registering requests at the same moment, against a real uvicorn on SQLite: every
one succeeds. (The token lookup once ran on the event loop; waiting there for SQLite's write
lock kept the loop from starting the route that held it, and every writer failed after the
busy timeout with "database is locked".)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from access import tokens, users
from access.agencies import get_agency
from core.db import make_engine, session_scope
from core.migrate import upgrade
from states import service
from core.config import Settings
from tests.conftest import AGENCY, AGENCY_ENV, APPLICANT, TODAY

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_eight_concurrent_registrations_over_http_all_succeed_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'gongkai.db'}"
    upgrade(url)
    port = _free_port()
    env = {**os.environ, **AGENCY_ENV, "GONGKAI_DATABASE_URL": url, "GONGKAI_DATA_DIR": str(tmp_path),
           "GONGKAI_TODAY": TODAY.isoformat(), "GONGKAI_SQLITE_BUSY_TIMEOUT_MS": "10000"}
    with (tmp_path / "api.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:app", "--port", str(port)],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.2)
        engine = make_engine(url)
        with session_scope(engine) as session:
            users.add_user(session, "wang.fang", "staff", actor="test:setup", agency="main")
            _, secret = tokens.create_token(session, "wang.fang", days=1, actor="test:setup")
            agency_id = get_agency(session, "main").id
            ids = [service.receive(session, applicant=APPLICANT, channel="in_person",
                                   received_on=TODAY, description=f"2025年第{i}批老旧小区改造资金明细",
                                   actor="wang.fang", agency_id=agency_id,
                                   settings=Settings(data_dir=tmp_path, today_override=TODAY,
                                                     agency=AGENCY)).id for i in range(8)]
            session.commit()
        engine.dispose()
        answers: list[int] = []
        go = threading.Barrier(8)

        def register(rid: int) -> None:
            go.wait()
            answers.append(httpx.post(f"{base}/api/v1/requests/{rid}/events/register",
                                      json={"on": TODAY.isoformat()}, timeout=60,
                                      headers={"Authorization": f"Bearer {secret}"}).status_code)

        threads = [threading.Thread(target=register, args=(rid,)) for rid in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [200] * 8, (tmp_path / "api.log").read_text()[-3000:]
    finally:
        server.terminate()
        server.wait(10)
