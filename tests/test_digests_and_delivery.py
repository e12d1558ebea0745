"""Supervisors get a daily digest per department and assignee (stored, viewable, e-mailed over a
real local SMTP server); replies are delivered and closed requests archived by the outbox."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import io
import json
import socket
import zipfile

import pytest
from aiosmtpd.controller import Controller

from workflows.deadlines import build_digests, flag_deadlines, mail_digests
from workflows.dispatch import dispatch_once
from tests.conftest import authenticate, fire, new_request, reply_disclosing, set_agency


class _Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox, port = _Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.smtp_host, settings.smtp_port = "127.0.0.1", port
    settings.smtp_from = "gongkai@xihu.gov.cn"
    yield inbox
    controller.stop()


def _three_requests(client) -> None:
    soon = new_request(client, received_on="2026-03-02", assignee="王芳")["id"]
    fire(client, soon, "register", "2026-03-02")
    late = new_request(client, received_on="2026-02-02", assignee="王芳")["id"]
    fire(client, late, "register", "2026-02-02")
    calm = new_request(client, received_on="2026-03-20", department="财政局")["id"]
    fire(client, calm, "register", "2026-03-20")


def test_a_department_digest_lists_overdue_and_due_soon_requests_and_is_mailed_once(
        client, engine, settings, smtp):
    settings.digest_recipients = {"department:住建局": ["chief@xihu.gov.cn"]}
    _three_requests(client)
    today = dt.date(2026, 3, 25)
    flags = flag_deadlines(engine, today, settings)
    assert (flags.due_soon, flags.overdue) == (["2026-000001"], ["2026-000002"])
    made = build_digests(engine, today, settings)
    assert [(d.scope_kind, d.scope, d.overdue, d.due_soon) for d in made] == [
        ("assignee", "王芳", 1, 1), ("department", "住建局", 1, 1)]
    assert mail_digests(engine, today, settings) == [made[1].id]  # only 住建局 has a recipient
    assert mail_digests(engine, today, settings) == []            # never twice
    assert build_digests(engine, today, settings) == []
    [message] = smtp.messages
    assert message["To"] == "chief@xihu.gov.cn"
    assert message["Subject"] == "政府信息公开申请到期提醒：逾期1件，即将到期1件（住建局）"
    body = message.get_content()
    assert "已逾期 1 件：" in body and "即将到期 1 件：" in body
    assert "2026-000001  应于2026年3月30日前答复，剩余3个工作日（住建局，经办人：王芳）" in body

    authenticate(client, "li.na", "supervisor")  # digests are for supervisors
    listed = client.get("/api/v1/digests", params={"day": "2026-03-25"}).json()["items"]
    assert [(d["scope"], d["email_to"]) for d in listed] == [("王芳", None), ("住建局", "chief@xihu.gov.cn")]
    shown = client.get(f"/api/v1/digests/{listed[1]['id']}").json()
    assert shown["body"] == body.replace("\r\n", "\n")
    assert [i["number"] for i in shown["items"]] == ["2026-000002", "2026-000001"]
    assert client.get("/api/v1/digests/999").status_code == 404


def test_an_unreachable_mail_server_keeps_the_digest_for_the_next_run(client, engine, settings):
    settings.smtp_host, settings.smtp_port = "127.0.0.1", _free_port()  # nothing listens
    settings.digest_recipients = {"assignee:王芳": ["wang.fang@xihu.gov.cn"]}
    _three_requests(client)
    today = dt.date(2026, 3, 25)
    flag_deadlines(engine, today, settings)
    build_digests(engine, today, settings)
    assert mail_digests(engine, today, settings) == []
    authenticate(client, "li.na", "supervisor")
    listed = client.get("/api/v1/digests", params={"scope": "王芳"}).json()["items"]
    assert listed[0]["emailed_at"] is None and "ConnectionRefusedError" in listed[0]["email_error"]


def _seal(path):
    """A red round seal as a PNG (what an agency's 电子印章 image looks like)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (240, 240), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((8, 8, 232, 232), outline=(200, 0, 0, 255), width=10)
    image.save(path)
    return path


def _replied_to_an_applicant_with_email(client, **applicant) -> int:
    """A request disclosed and replied to on 11 March 2026, the applicant having given an e-mail."""
    rid = new_request(client, received_on="2026-03-02",
                      applicant={"name": "李明", "kind": "natural_person",
                                 "email": "li.ming@example.cn", **applicant})["id"]
    reply_disclosing(client, rid, registered="2026-03-02", reviewed="2026-03-03",
                     checked="2026-03-10", decided="2026-03-10", sent="2026-03-11")
    return rid


def test_without_an_electronic_seal_a_reply_is_never_e_mailed(client, engine, settings, smtp):
    rid = _replied_to_an_applicant_with_email(client)
    dispatch_once(engine, settings)
    assert smtp.messages == []
    delivered = [e["data"] for e in client.get(f"/api/v1/requests/{rid}/history").json()["events"]
                 if e["event"] == "deliver_reply"]
    assert delivered == [{"letter_id": 2, "channel": "post",
                          "note": "未配置电子印章：请打印、盖章后邮寄或当面送达"}]


def test_a_sent_reply_is_mailed_with_its_pdf_and_the_archive_holds_the_whole_file(
        client, engine, settings, smtp, tmp_path):
    set_agency(engine, electronic_seal=str(_seal(tmp_path / "seal.png")))
    seal_sha = hashlib.sha256((tmp_path / "seal.png").read_bytes()).hexdigest()
    rid = _replied_to_an_applicant_with_email(client, phone="13800138000")
    fire(client, rid, "archive", "2026-03-12")
    result = dispatch_once(engine, settings)
    assert len(result.done) == 4 and not (result.retried or result.parked)

    [message] = smtp.messages
    assert message["To"] == "li.ming@example.cn"
    assert message["Subject"] == "政府信息公开申请答复书（西政办政信答〔2026〕1号）"
    [attachment] = list(message.iter_attachments())
    pdf = attachment.get_content()
    letters = client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]
    decision = next(x for x in letters if x["kind"] == "decision:disclosed")
    listed_pdf = next(f for f in decision["files"] if f["format"] == "pdf")
    assert hashlib.sha256(pdf).hexdigest() == listed_pdf["sha256"]

    events = client.get(f"/api/v1/requests/{rid}/history").json()["events"]
    delivered = next(e for e in events if e["event"] == "deliver_reply")
    assert delivered["data"]["channel"] == "email" and delivered["data"]["sha256"] == listed_pdf["sha256"]
    rendered = next(e for e in events if e["event"] == "render_letter"
                    and e["data"]["letter_id"] == decision["id"])
    assert rendered["data"]["files"]["pdf"]["sealed_with"] == seal_sha
    assert b"/Subtype /Image" in pdf
    archived = events[-1]
    assert (archived["event"], archived["actor"]) == ("export_archive", "system:dispatch_outbox")
    bundle = (settings.data_dir / archived["data"]["file"]).read_bytes()
    assert hashlib.sha256(bundle).hexdigest() == archived["data"]["sha256"]
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        names = z.namelist()
        facts = json.loads(z.read("request.json"))
        history = json.loads(z.read("history.json"))
    assert {"request.json", "history.json"} <= set(names)
    assert sum(n.startswith("letters/") for n in names) == 6  # 2 letters × html, docx, pdf
    assert "applicant_phone" not in facts and facts["number"] == "2026-000001"
    assert [e["event"] for e in history][-1] == "deliver_reply"
    assert dispatch_once(engine, settings).done == []  # nothing left, nothing twice


def test_without_an_email_address_the_reply_is_recorded_for_delivery_by_post(client, engine, settings):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-03")
    fire(client, rid, "decide", "2026-03-10", outcome="unavailable_not_held")
    client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "本机关未制作该信息"})
    fire(client, rid, "send_reply", "2026-03-11")
    dispatch_once(engine, settings)
    delivered = [e for e in client.get(f"/api/v1/requests/{rid}/history").json()["events"]
                 if e["event"] == "deliver_reply"]
    assert [e["data"]["channel"] for e in delivered] == ["post"]
