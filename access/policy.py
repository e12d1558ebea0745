"""Roles, what each may do, and whose requests each sees: the one table the API's routes (and
later the web pages) read, from which the README's role × route matrix is generated."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = {
    "staff": "经办人",
    "legal": "法制审核",
    "supervisor": "负责人/政务公开办",
    "admin": "系统管理员",
}

# permission → (roles that hold it, what it lets them do)
PERMISSIONS: dict[str, tuple[frozenset[str], str]] = {
    "requests.receive": (frozenset({"staff", "supervisor"}), "receive a request (接收)"),
    "requests.read": (frozenset({"staff", "legal", "supervisor"}), "read requests, letters, history"),
    "requests.act": (frozenset({"staff", "supervisor"}),
                     "advance a request: events, drafts, service dates (办理)"),
    "requests.approve": (frozenset({"supervisor"}),
                         "approve or refuse an extension, sign a reply off (负责人)"),
    "requests.confidentiality": (frozenset({"staff", "legal", "supervisor"}),
                                 "record a confidentiality review as oneself (保密审查)"),
    "requests.legal_review": (frozenset({"legal"}), "sign a reply off or return it (法制审核)"),
    "requests.reveal_id": (frozenset({"staff", "legal", "supervisor"}),
                           "reveal an applicant's ID number (audited)"),
    "proactive.manage": (frozenset({"supervisor"}), "clusters of similar requests and proactive "
                         "disclosures (Art 44)"),
    "supervision.read": (frozenset({"supervisor", "admin"}), "outbox and digests"),
    "supervision.act": (frozenset({"supervisor", "admin"}), "put a parked effect back"),
    "calendar.read": (frozenset(ROLES), "the working-day calendar"),
    "reports.read": (frozenset({"legal", "supervisor"}), "the annual report's tables"),
    "reports.publish": (frozenset({"supervisor"}), "publish a year's annual report"),
    "agencies.read": (frozenset(ROLES), "the list of agencies and their units"),
    "admin": (frozenset({"admin"}), "agencies, units, users, roles, tokens, the access log"),
    "self": (frozenset(ROLES), "one's own account: who am I, log out, own tokens"),
}


# Events that need more than requests.act (the head's approvals, the legal reviewer's sign-off).
EVENT_PERMISSIONS = {"approve_extension": "requests.approve", "refuse_extension": "requests.approve",
                     "approve_reply": "requests.approve",
                     "review_confidentiality": "requests.confidentiality",
                     "legal_signoff": "requests.legal_review"}
# Who an event records as having acted, taken from the logged-in account (never typed in).
SIGNED_EVENTS = {"approve_extension": "approved_by", "approve_reply": "approved_by",
                 "review_confidentiality": "reviewed_by", "legal_signoff": "signed_by"}


@dataclass(frozen=True)
class Principal:
    """The authenticated user of one call."""
    user_id: int
    username: str
    role: str
    agency_id: int | None
    unit_id: int | None
    # Agencies whose requests this user sees; None: every agency (scope_all).
    agency_ids: frozenset[int] | None
    via: str                        # token / session
    csrf_token: str | None = None   # sessions only: what an unsafe call must echo

    @property
    def actor(self) -> str:
        """The audit actor: the user name (never `system:…`, which user names cannot spell)."""
        return self.username

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission][0]

    def sees_agency(self, agency_id: int) -> bool:
        return self.agency_ids is None or agency_id in self.agency_ids

    def sees(self, agency_id: int, unit_id: int | None) -> bool:
        """Staff of a unit see only that unit's requests; everyone else their agencies'."""
        if not self.sees_agency(agency_id):
            return False
        return not (self.role == "staff" and self.unit_id is not None and unit_id != self.unit_id)
