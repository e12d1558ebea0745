"""Password hashing with argon2id (argon2-cffi's defaults: RFC 9106 low-memory profile), and the
rules a new password must meet."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from access.errors import InvalidAccessInput

_hasher = PasswordHasher()
# Verified when the user name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY = _hasher.hash("gongkai-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def check_new_password(password: str, username: str, min_length: int) -> None:
    if len(password) < min_length:
        raise InvalidAccessInput("password", f"at least {min_length} characters")
    if len(password) > 256:
        raise InvalidAccessInput("password", "at most 256 characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise InvalidAccessInput("password", "no control characters")
    if len(set(password)) < 4 or username.lower() in password.lower():
        raise InvalidAccessInput("password", "too easy to guess (repeats, or holds the user name)")


def generate_password() -> str:
    """A password to print once: 16 characters from an alphabet without look-alikes."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))
