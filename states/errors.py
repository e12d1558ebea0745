"""Domain errors the one door raises; the API maps each to an HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    pass


class RequestNotFound(DomainError):
    def __init__(self, request_id):
        super().__init__(f"request {request_id} does not exist")


class EventNotAllowed(DomainError):
    """The event exists but the request's state does not allow it (HTTP 409)."""

    def __init__(self, event: str, state: str, allowed: list[str]):
        self.event, self.state, self.allowed = event, state, allowed
        super().__init__(f"event '{event}' is not allowed in state '{state}'; "
                         f"allowed: {', '.join(allowed) or 'none'}")


class UnknownEvent(DomainError):
    def __init__(self, event: str, known: list[str]):
        self.event, self.known = event, known
        super().__init__(f"event '{event}' does not exist; events: {', '.join(known)}")


class RuleViolation(DomainError):
    """Input that breaks a rule of law or of the engine (HTTP 422), naming the field."""

    def __init__(self, field: str, rule: str, rule_zh: str | None = None):
        # `rule_zh`: the same rule as the pages say it to staff (the API answers in English).
        self.field, self.rule, self.rule_zh = field, rule, rule_zh
        super().__init__(f"{field}: {rule}")


class ConcurrentChange(DomainError):
    def __init__(self, expected: int, actual: int):
        super().__init__(f"the request changed meanwhile: expected version {expected}, "
                         f"it is now {actual}; reload and try again")
