"""Art 44: information that many applicants ask for, published proactively — the record of what
was published, where and when, and which requests it answers (each of them gets an audit event)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from states.errors import RuleViolation
from states.models import ProactiveDisclosure, ProactiveDisclosureRequest, Request
from states.service import record_fact


def record(session: Session, *, agency_id: int, title: str, published_on: dt.date, location: str,
           note: str | None, request_ids: list[int], actor: str, today: dt.date) -> ProactiveDisclosure:
    """Caller commits. Every request must belong to the agency (one agency publishes)."""
    if published_on > today:
        raise RuleViolation("published_on", f"{published_on} is in the future (today is {today})")
    ids = sorted(set(request_ids))
    rows = session.exec(select(Request.id, Request.agency_id).where(Request.id.in_(ids))).all()
    found = dict(rows)
    for rid in ids:
        if rid not in found:
            raise RuleViolation("request_ids", f"request {rid} does not exist")
        if found[rid] != agency_id:
            raise RuleViolation("request_ids", f"request {rid} belongs to another agency")
    row = ProactiveDisclosure(agency_id=agency_id, title=title.strip(), published_on=published_on,
                              location=location.strip(), note=(note or "").strip() or None,
                              recorded_by=actor, recorded_at=dt.datetime.now(dt.timezone.utc))
    session.add(row)
    session.flush()
    for rid in ids:
        session.add(ProactiveDisclosureRequest(disclosure_id=row.id, request_id=rid))
        record_fact(session, rid, "record_proactive_disclosure", actor, on=today,
                    data={"disclosure_id": row.id, "title": row.title, "published_on": published_on,
                          "location": row.location})
    session.flush()
    return row


def published_for(session: Session, request_ids: list[int]) -> dict[int, list[int]]:
    """request id → the proactive disclosures recorded for it."""
    out: dict[int, list[int]] = {}
    for did, rid in session.exec(select(ProactiveDisclosureRequest.disclosure_id,
                                        ProactiveDisclosureRequest.request_id)
                                 .where(ProactiveDisclosureRequest.request_id.in_(request_ids))).all():
        out.setdefault(rid, []).append(did)
    return out


def listing(session: Session, agency_ids: list[int] | None) -> list[tuple[ProactiveDisclosure, list[int]]]:
    query = select(ProactiveDisclosure).order_by(ProactiveDisclosure.published_on.desc(),
                                                 ProactiveDisclosure.id.desc())
    if agency_ids is not None:
        query = query.where(ProactiveDisclosure.agency_id.in_(agency_ids))
    rows = session.exec(query.limit(500)).all()
    links: dict[int, list[int]] = {r.id: [] for r in rows}
    if rows:
        for did, rid in session.exec(select(ProactiveDisclosureRequest.disclosure_id,
                                            ProactiveDisclosureRequest.request_id)
                                     .where(ProactiveDisclosureRequest.disclosure_id.in_(list(links)))
                                     .order_by(ProactiveDisclosureRequest.request_id)).all():
            links[did].append(rid)
    return [(r, links[r.id]) for r in rows]
