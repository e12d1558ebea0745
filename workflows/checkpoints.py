"""Taking an audit checkpoint (the `checkpoint_audit` flow, `gongkai audit checkpoint`): sign the
Merkle root over every audit event and write it outside the database as well."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from audit import checkpoint, signing
from core.config import Settings


def take_checkpoint(engine: Engine, settings: Settings,
                    progress: Callable[[int], None] | None = None) -> dict:
    """Raises checkpoint.CheckpointError (naming the broken events) rather than seal a log
    that does not verify, and signing.SigningKeyError if the key cannot be read."""
    key, made = signing.load_or_create(settings.signing_key_path)
    written = checkpoint.latest_file(settings.checkpoints_path)
    outside = checkpoint.SignedHead.read(written) if written else None
    taken = checkpoint.take(engine, key, outside=outside, progress=progress)
    path = taken.head.write(settings.checkpoints_path)  # again if only the file was missing
    fields = taken.head.fields
    return {"number": taken.number, "tree_size": taken.tree_size, "added": taken.added,
            "root": fields["root"], "signed_at": fields["signed_at"], "key_id": fields["key_id"],
            "file": str(path), "key_made": str(settings.signing_key_path) if made else None}
