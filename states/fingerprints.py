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

from sqlalchemy import Date, and_, bindparam, delete, func, insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from core.db import planned_each_time
from states import similarity
from states.models import ProactiveDisclosureRequest, Request, RequestFingerprint, SimilarityBand

# Art 44 clusters: requests of at least this many different applicants, received in the window.
CLUSTER_MIN_APPLICANTS = 3
CLUSTER_WINDOW_DAYS = 365
CLUSTER_LIMIT = 100


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
    one's (≥ similarity.THRESHOLD), most similar first. Only those sharing a band key with it are
    compared: a heavy applicant's thousands of requests are not read one by one.

    One statement: the request's own band keys are the rows `store` wrote from its signature,
    and its signature comes back beside each candidate's (no candidate, nothing to compare)."""
    if row.applicant_key is None:  # no applicant to compare with: no query
        return []
    # Which way is fast depends on the applicant (a few requests: theirs first; thousands: the
    # shared bands first), so the plan is made for each one's own figures.
    with planned_each_time(session.connection()):
        earlier = session.execute(_EARLIER_SHARING_A_BAND, {
            "id": row.id, "agency_id": row.agency_id, "applicant_key": row.applicant_key,
            "received_on": row.received_on}).all()
    found = []
    for rid, number, received_on, state, outcome, replied_on, sig, mine in earlier:
        score = similarity.estimate(mine, sig)
        if score >= similarity.THRESHOLD:
            found.append({"id": rid, "number": number, "received_on": received_on, "state": state,
                          "outcome": outcome, "replied_on": replied_on,
                          "similarity": round(score, 2)})
    found.sort(key=lambda c: (-c["similarity"], c["received_on"], c["id"]))
    return found[:limit]


def _earlier(candidate, request_id, received_on):
    """`candidate` was received before the request (on the same day: registered before it)."""
    return ((candidate.received_on < received_on)
            | ((candidate.received_on == received_on) & (candidate.id < request_id)))


def _earlier_sharing_a_band():
    mine = RequestFingerprint.__table__.alias("mine")
    own_keys = select(SimilarityBand.key).where(SimilarityBand.request_id == bindparam("id"))
    sharing = select(SimilarityBand.request_id).where(SimilarityBand.key.in_(own_keys))
    return (select(Request.id, Request.number, Request.received_on, Request.state,
                   Request.outcome, Request.replied_on, RequestFingerprint.signature,
                   mine.c.signature)
            .join(RequestFingerprint, RequestFingerprint.request_id == Request.id)
            .join(mine, mine.c.request_id == bindparam("id"))
            .where(Request.id.in_(sharing), Request.agency_id == bindparam("agency_id"),
                   Request.applicant_key == bindparam("applicant_key"),
                   _earlier(Request, bindparam("id"), bindparam("received_on", type_=Date))))


# Built once (SQLAlchemy then reuses its compiled form without rebuilding the statement).
_EARLIER_SHARING_A_BAND = _earlier_sharing_a_band()


def _may_have_candidates():
    """Whether `repeat_candidates` may find anything for the request a statement reads, as one of
    its columns (states/presence.py): only if its applicant asked the agency before, and only if
    anyone's request shares a band key with it. Each is one index probe whatever the data; asking
    in one probe for an earlier request of the applicant sharing a band was planned, for a
    frequent applicant, as a walk through all their requests (3 ms, benchmarks/similar.py)."""
    candidate = aliased(Request, name="candidate")
    asked_before = select(1).where(
        candidate.agency_id == Request.agency_id, candidate.applicant_key == Request.applicant_key,
        _earlier(candidate, Request.id, Request.received_on)).exists()
    own, theirs = aliased(SimilarityBand, name="own_band"), aliased(SimilarityBand, name="their_band")
    shared = (select(1).select_from(own).join(theirs, theirs.key == own.key)
              .where(own.request_id == Request.id, theirs.request_id != Request.id)
              .correlate(Request).exists())
    return and_(asked_before, shared)


HAS_CANDIDATES = _may_have_candidates()


def clusters(session: Session, *, agency_ids: list[int] | None, today: dt.date,
             min_applicants: int = CLUSTER_MIN_APPLICANTS, window_days: int = CLUSTER_WINDOW_DAYS,
             limit: int | None = CLUSTER_LIMIT, unpublished: bool = True) -> list[dict]:
    """Groups of similar requests from at least `min_applicants` applicants received in the last
    `window_days`: what many people ask for, which Art 44 says may be published proactively.
    `unpublished`: leave out the groups whose every request a recorded proactive disclosure
    answers (before the limit, so they hide nothing).

    Candidates come from band keys shared by that many applicants (one GROUP BY over the distinct
    (key, applicant) pairs, which PostgreSQL aggregates without a sort of every band row); in each
    band bucket every request is compared with the bucket's first, all at once (numpy), and joins
    its group when they are requests for the same information (≥ similarity.THRESHOLD; the looser
    CLUSTER_THRESHOLD chained a whole village's requests of one year into one group)."""
    import numpy as np  # imported here: only this supervisor's view needs it

    since = today - dt.timedelta(days=window_days)
    scope = [Request.received_on >= since]
    if agency_ids is not None:
        scope.append(Request.agency_id.in_(agency_ids))
    pairs = (select(SimilarityBand.key, Request.applicant_key).distinct()
             .join(Request, Request.id == SimilarityBand.request_id)
             .where(Request.applicant_key.is_not(None), *scope).subquery())
    shared = (select(pairs.c.key).group_by(pairs.c.key)
              .having(func.count() >= min_applicants))
    # One statement (the shared keys are computed once): each member's band key with what the
    # grouping needs; a request in several shared buckets comes once per bucket.
    members = session.exec(
        select(SimilarityBand.key, Request.id, Request.applicant_key, Request.received_on,
               RequestFingerprint.signature)
        .join(Request, Request.id == SimilarityBand.request_id)
        .join(RequestFingerprint, RequestFingerprint.request_id == Request.id)
        .where(SimilarityBand.key.in_(shared), *scope)).all()
    if not members:
        return []
    index: dict[int, int] = {}
    info: list[tuple] = []
    buckets: dict[int, list[int]] = defaultdict(list)
    for key, rid, applicant, received_on, signature in members:
        if rid not in index:
            index[rid] = len(info)
            info.append((rid, applicant, received_on, signature))
        buckets[key].append(index[rid])
    ids = [r[0] for r in info]
    sigs = np.frombuffer(b"".join(r[3] for r in info), dtype="<u4").reshape(len(ids), -1)
    parent = list(range(len(ids)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for bucket in buckets.values():
        if len(bucket) < 2:
            continue
        first, others = bucket[0], np.array(bucket[1:])
        same = (sigs[others] == sigs[first]).mean(axis=1) >= similarity.THRESHOLD
        for other in others[same].tolist():
            a, b = root(first), root(other)
            if a != b:
                parent[b] = a
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(ids)):
        groups[root(i)].append(i)
    # Proactive disclosures are few (a supervisor records each): read their requests whole rather
    # than run the shared-keys query a second time.
    published = set(session.exec(select(ProactiveDisclosureRequest.request_id).distinct()).all()
                    ) if unpublished else set()
    out = []
    for group in groups.values():
        applicants = {info[i][1] for i in group}
        if len(applicants) < min_applicants or all(ids[i] in published for i in group):
            continue
        group.sort(key=lambda i: (info[i][2], ids[i]))
        out.append({"size": len(group), "applicants": len(applicants),
                    "first_received_on": info[group[0]][2], "last_received_on": info[group[-1]][2],
                    "request_ids": [ids[i] for i in group]})
    out.sort(key=lambda c: (-c["applicants"], -c["size"], c["request_ids"][0]))
    out = out if limit is None else out[:limit]
    latest = [c["request_ids"][-1] for c in out]
    examples = dict(session.exec(select(Request.id, Request.description)
                                 .where(Request.id.in_(latest))).all()) if latest else {}
    for c in out:
        c["example"] = examples[c["request_ids"][-1]][:200]
    return out
