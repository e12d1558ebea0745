"""Errors of the access room; the API maps each to its HTTP status."""

from __future__ import annotations


class AccessError(Exception):
    status = 400
    kind = "access_error"


class NotAuthenticated(AccessError):
    """No valid credential (HTTP 401)."""
    status, kind = 401, "not_authenticated"


class LoginRefused(AccessError):
    """Wrong user name or password; says no more than that (HTTP 401)."""
    status, kind = 401, "login_refused"

    def __init__(self):
        super().__init__("user name or password is wrong")


class Throttled(AccessError):
    """Too many failed logins: the account is locked or the address must wait (HTTP 429)."""
    status, kind = 429, "too_many_attempts"

    def __init__(self, message: str, retry_after: int):
        self.retry_after = retry_after
        super().__init__(message)


class Forbidden(AccessError):
    """Authenticated, but the role may not do this (HTTP 403)."""
    status, kind = 403, "forbidden"


class CsrfRefused(Forbidden):
    kind = "csrf_refused"


class AccessNotFound(AccessError):
    status, kind = 404, "not_found"


class AccessConflict(AccessError):
    status, kind = 409, "conflict"


class InvalidAccessInput(AccessError):
    """A user, agency or token field that breaks a rule (HTTP 422), naming the field."""
    status, kind = 422, "invalid_input"

    def __init__(self, field: str, rule: str):
        self.field, self.rule = field, rule
        super().__init__(f"{field}: {rule}")
