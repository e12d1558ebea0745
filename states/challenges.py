"""行政复议 and 行政诉讼 against a request's reply (table 四 of the annual report): each case as
filed and its result, recorded through the request's audit chain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Column, Text
from sqlmodel import Field, Session, SQLModel, select

from states.errors import RuleViolation
from states.service import lock_request, record_fact

KINDS = ("reconsideration", "lawsuit")           # 行政复议, 行政诉讼
RESULTS = ("upheld", "corrected", "other")       # 结果维持, 结果纠正, 其他结果 (none yet: 尚未审结)


class LegalChallenge(SQLModel, table=True):
    __tablename__ = "legal_challenge"
    __table_args__ = (
        CheckConstraint("kind IN ('reconsideration', 'lawsuit')", name="ck_challenge_kind"),
        CheckConstraint("result IS NULL OR result IN ('upheld', 'corrected', 'other')",
                        name="ck_challenge_result"),
    )
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    kind: str
    after_reconsideration: bool = False   # a lawsuit brought after a 行政复议 (复议后起诉)
    body: str                             # the 复议机关 or court
    case_number: str | None = None
    filed_on: dt.date = Field(index=True)
    result: str | None = None
    decided_on: dt.date | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))
    recorded_by: str
    recorded_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def challenges_of(session: Session, request_id: int) -> list[LegalChallenge]:
    return list(session.exec(select(LegalChallenge).where(LegalChallenge.request_id == request_id)
                             .order_by(LegalChallenge.id)))


def record_challenge(session: Session, request_id: int, *, kind: str, filed_on: dt.date, body: str,
                     actor: str, today: dt.date, after_reconsideration: bool = False,
                     case_number: str | None = None, note: str | None = None) -> LegalChallenge:
    """A 行政复议 or 行政诉讼 filed against the request's reply. Caller commits."""
    row = lock_request(session, request_id)
    # Against the reply, or against no reply once the period ran out (不作为).
    since = row.replied_on or (row.due_on + dt.timedelta(days=1) if row.due_on else None)
    if since is None or since > today:
        raise RuleViolation("request", "a 行政复议 or 行政诉讼 is brought against a reply, or against "
                            "no reply once the period has run out: neither is the case yet")
    if kind not in KINDS:
        raise RuleViolation("kind", f"one of {', '.join(KINDS)}")
    if not since <= filed_on <= today:
        raise RuleViolation("filed_on", f"between {since} and today ({today})")
    if after_reconsideration:
        if kind != "lawsuit":
            raise RuleViolation("after_reconsideration", "only a lawsuit follows a 行政复议")
        earlier = [c for c in challenges_of(session, request_id) if c.kind == "reconsideration"]
        if not any(c.filed_on <= filed_on for c in earlier):
            raise RuleViolation("after_reconsideration", "record the 行政复议 it follows first")
    case = LegalChallenge(request_id=request_id, kind=kind, after_reconsideration=after_reconsideration,
                          body=body, case_number=case_number, filed_on=filed_on, note=note,
                          recorded_by=actor, recorded_at=_now())
    session.add(case)
    session.flush()
    record_fact(session, request_id, "record_challenge", actor, on=filed_on, data={
        "challenge_id": case.id, "kind": kind, "after_reconsideration": after_reconsideration,
        "body": body, "case_number": case_number, "filed_on": filed_on})
    return case


def record_challenge_result(session: Session, request_id: int, challenge_id: int, *, result: str,
                            decided_on: dt.date, actor: str, today: dt.date,
                            note: str | None = None) -> LegalChallenge:
    """The case's result (维持 / 纠正 / 其他). Once recorded it is corrected only with a note."""
    lock_request(session, request_id)
    case = session.get(LegalChallenge, challenge_id)
    if case is None or case.request_id != request_id:
        raise LookupError(f"case {challenge_id} of request {request_id} does not exist")
    if result not in RESULTS:
        raise RuleViolation("result", f"one of {', '.join(RESULTS)}")
    if not case.filed_on <= decided_on <= today:
        raise RuleViolation("decided_on", f"between the filing ({case.filed_on}) and today ({today})")
    if case.result is not None and not (note or "").strip():
        raise RuleViolation("note", f"the result {case.result} was recorded on {case.decided_on}: "
                            "say why it is corrected")
    previous = (case.result, case.decided_on)
    case.result, case.decided_on = result, decided_on
    case.note = note or case.note
    session.add(case)
    record_fact(session, request_id, "record_challenge_result", actor, on=decided_on, data={
        "challenge_id": case.id, "result": result, "decided_on": decided_on, "note": note,
        "previous": {"result": previous[0], "decided_on": previous[1]} if previous[0] else None})
    return case
