"""A request's history as one bundle a legal reviewer checks offline (导出): every audit event
as stored, every letter as sent (the exact bytes of each format), the latest signed checkpoint
and the inclusion proof of the request's last event it covers. `audit/offline_verifier.py`
checks such a bundle with no part of Gongkai installed.

Nothing in it goes unchecked: the letters' metadata and bytes are attested by the events, the
request's number by its first event, the events by their chain, the chain by the proof, the
proof by the signed root. So the bundle carries no export time or other free text.
"""

from __future__ import annotations

import base64

from sqlmodel import Session, select

import audit
from audit import checkpoint
from replies.models import Letter, LetterFile
from states.models import Request

FORMAT = "gongkai-request-export/1"
EVENT_FIELDS = ("request_id", "seq", "recorded_at", "on", "actor", "event", "from_state",
                "to_state", "data", "prev_hash", "hash")


def bundle(session: Session, row: Request) -> dict:
    """Read in the caller's one transaction, so events, letters and checkpoint agree."""
    events = audit.history(session, row.id)
    letters = session.exec(select(Letter).where(Letter.request_id == row.id).order_by(Letter.id)).all()
    files: dict[int, list[LetterFile]] = {}
    if letters:
        for f in session.exec(select(LetterFile).where(LetterFile.letter_id.in_([x.id for x in letters]))
                              .order_by(LetterFile.id)):
            files.setdefault(f.letter_id, []).append(f)
    conn = session.connection()
    head = checkpoint.latest(conn)
    proof = checkpoint.inclusion(conn, row.id, head.fields["tree_size"]) if head else None
    return {
        "format": FORMAT,
        "request": {"id": row.id, "number": row.number},
        "events": [{k: getattr(e, k) for k in EVENT_FIELDS} for e in events],
        "letters": [{"letter_id": x.id, "kind": x.kind, "title": x.title, "doc_number": x.doc_number,
                     "files": [{"format": f.format, "sha256": f.sha256, "size": f.size,
                                "content_base64": base64.b64encode(f.content).decode("ascii")}
                               for f in files.get(x.id, [])]} for x in letters],
        # A request newer than the last checkpoint has no anchor yet: both stay empty.
        "checkpoint": None if proof is None else {"statement": head.statement,
                                                  "signature": head.signature,
                                                  "public_key": head.public_key},
        "inclusion": None if proof is None else {"seq": proof.seq, "leaf_index": proof.leaf_index,
                                                 "tree_size": proof.tree_size, "path": proof.path},
    }
