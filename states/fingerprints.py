"""Requests' fingerprints in the database (the MinHash of states/similarity.py and its LSH band
keys), and what they find: the same applicant's earlier requests for the same information
(not_processed_repeat candidates, Art 36(6)) and, across applicants, clusters of similar requests
(candidates for proactive disclosure, Art 44). They only propose: staff and supervisors decide.

`store` runs inside the one door's `receive`; `fill_missing` fingerprints requests made before
fingerprints existed, or under an older similarity VERSION (CLI and the nightly maintenance).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import delete, func, insert
from sqlmodel import Session, select

from states import similarity
from states.models import Request, RequestFingerprint, SimilarityBand

# Art 44 clusters: requests of at least this many different applicants, received in the window.
CLUSTER_MIN_APPLICANTS = 3
CLUSTER_WINDOW_DAYS = 365
CLUSTER_LIMIT = 100


def signature_of(description: str) -> bytes:
    return similarity.signature(description)


def store(session: Session, row: Request, sig: bytes | None = None, *, new: bool = False) -> None:
    """Fingerprint `row` (its description), replacing an older one (`new`: there is none)."""
    sig = sig if sig is not None else similarity.signature(row.description)
    if not new:
        session.execute(delete(SimilarityBand).where(SimilarityBand.request_id == row.id))
    existing = None if new else session.get(RequestFingerprint, row.id)
    if existing is None:
        session.add(RequestFingerprint(request_id=row.id, signature=sig, version=similarity.VERSION))
    else:
        existing.signature, existing.version = sig, similarity.VERSION
        session.add(existing)
    session.flush()
    keys = sorted(set(similarity.band_keys(sig)))
    if keys:  # an empty or boilerplate-only text has none
        session.execute(insert(SimilarityBand), [{"key": k, "request_id": row.id} for k in keys])


def fill_missing(session: Session, *, batch: int = 2000,
                 progress: Callable[[int], None] | None = None) -> int:
    """Fingerprint every request with none or a stale one, `batch` per transaction; returns how
    many. Each batch is committed, so an interrupted run resumes where it stopped."""
    done = 0
    while True:
        stale = (select(Request).outerjoin(RequestFingerprint,
                                           RequestFingerprint.request_id == Request.id)
                 .where((RequestFingerprint.request_id.is_(None))
                        | (RequestFingerprint.version != similarity.VERSION))
                 .order_by(Request.id).limit(batch))
        rows = session.exec(stale).all()
        if not rows:
            return done
        for row in rows:
            store(session, row)
        session.commit()
        done += len(rows)
        if progress:
            progress(len(rows))


def missing_count(session: Session) -> int:
    return int(session.exec(
        select(func.count()).select_from(Request)
        .outerjoin(RequestFingerprint, RequestFingerprint.request_id == Request.id)
        .where((RequestFingerprint.request_id.is_(None))
               | (RequestFingerprint.version != similarity.VERSION))).one())


def repeat_candidates(session: Session, row: Request, limit: int = 10) -> list[dict]:
    """The applicant's earlier requests to the same agency whose description is similar to this
    one's (≥ similarity.THRESHOLD), most similar first."""
    mine = session.get(RequestFingerprint, row.id)
    if mine is None or row.applicant_key is None:
        return []
    earlier = session.exec(
        select(Request.id, Request.number, Request.received_on, Request.state, Request.outcome,
               Request.replied_on, RequestFingerprint.signature)
        .join(RequestFingerprint, RequestFingerprint.request_id == Request.id)
        .where(Request.agency_id == row.agency_id, Request.applicant_key == row.applicant_key,
               (Request.received_on < row.received_on)
               | ((Request.received_on == row.received_on) & (Request.id < row.id)))
        .order_by(Request.received_on.desc(), Request.id.desc()).limit(500)).all()
    found = []
    for rid, number, received_on, state, outcome, replied_on, sig in earlier:
        score = similarity.estimate(mine.signature, sig)
        if score >= similarity.THRESHOLD:
            found.append({"id": rid, "number": number, "received_on": received_on, "state": state,
                          "outcome": outcome, "replied_on": replied_on,
                          "similarity": round(score, 2)})
    found.sort(key=lambda c: (-c["similarity"], c["received_on"]), reverse=False)
    return found[:limit]


def clusters(session: Session, *, agency_ids: list[int] | None, today: dt.date,
             min_applicants: int = CLUSTER_MIN_APPLICANTS, window_days: int = CLUSTER_WINDOW_DAYS,
             limit: int | None = CLUSTER_LIMIT) -> list[dict]:
    """Groups of similar requests from at least `min_applicants` applicants received in the last
    `window_days`: what many people ask for, which Art 44 says may be published proactively.

    Candidates come from shared band keys (one indexed GROUP BY); each request of a band bucket
    joins the bucket's first request's cluster when they are similar enough to be requests for the
    same information (≥ similarity.THRESHOLD; the looser CLUSTER_THRESHOLD chained a whole
    village's requests of one year into one cluster). Linear in the bucket sizes, not quadratic."""
    since = today - dt.timedelta(days=window_days)
    scope = [Request.received_on >= since]
    if agency_ids is not None:
        scope.append(Request.agency_id.in_(agency_ids))
    shared = (select(SimilarityBand.key)
              .join(Request, Request.id == SimilarityBand.request_id).where(*scope)
              .group_by(SimilarityBand.key)
              .having(func.count(func.distinct(Request.applicant_key)) >= min_applicants))
    members = session.exec(
        select(SimilarityBand.key, Request.id)
        .join(Request, Request.id == SimilarityBand.request_id)
        .where(SimilarityBand.key.in_(shared), *scope)).all()
    buckets: dict[int, list[int]] = defaultdict(list)
    for key, rid in members:
        buckets[key].append(rid)
    ids = sorted({rid for _key, rid in members})
    if not ids:
        return []
    sigs = dict(session.exec(select(RequestFingerprint.request_id, RequestFingerprint.signature)
                             .where(RequestFingerprint.request_id.in_(ids))).all())
    parent = {rid: rid for rid in ids}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for bucket in buckets.values():
        first = bucket[0]
        for other in bucket[1:]:
            if root(first) == root(other):
                continue
            if (sigs[first] == sigs[other]
                    or similarity.estimate(sigs[first], sigs[other]) >= similarity.THRESHOLD):
                parent[root(other)] = root(first)
    groups: dict[int, list[int]] = defaultdict(list)
    for rid in ids:
        groups[root(rid)].append(rid)
    rows = {r.id: r for r in session.exec(select(Request).where(Request.id.in_(ids))).all()}
    out = []
    for group in groups.values():
        applicants = {rows[r].applicant_key for r in group}
        if len(applicants) < min_applicants:
            continue
        group.sort(key=lambda r: (rows[r].received_on, r))
        out.append({"size": len(group), "applicants": len(applicants),
                    "first_received_on": rows[group[0]].received_on,
                    "last_received_on": rows[group[-1]].received_on,
                    "example": rows[group[-1]].description[:200],
                    "request_ids": group})
    out.sort(key=lambda c: (-c["applicants"], -c["size"], c["request_ids"][0]))
    return out if limit is None else out[:limit]
