"""The deployment's Ed25519 key that signs audit checkpoints, and checking such signatures.

The private key lives in a file outside the database (PEM, PKCS #8, mode 0600), so whoever
administers the database cannot sign a checkpoint over a rewritten history. The public key is
published by the agency; its fingerprint (`key_id`, the first 16 hex digits of SHA-256 over the
raw 32-byte key) is what a legal reviewer compares.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class SigningKeyError(Exception):
    """The signing key cannot be read or made (message says which file and why)."""


def key_id(public_key_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:16]


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(*_RAW).hex()


def load_or_create(path: Path, *, create: bool = True) -> tuple[Ed25519PrivateKey, bool]:
    """The key in `path`, made there first if missing and `create`; (key, made now)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise SigningKeyError(f"no checkpoint signing key at {path}") from None
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two first checkpoints at once must not each write a key of their own.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create(path, create=False)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return key, True
    except OSError as exc:
        raise SigningKeyError(f"cannot read the checkpoint signing key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key, False


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return key.sign(message).hex()


def signature_holds(public_key_hex: str, message: bytes, signature_hex: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(
            bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
