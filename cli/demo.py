"""`gongkai demo --year Y [--profile linhai-2020]`: a realistic year of requests, every step through
the one door as a staff member and the OGI office head would take it (receipt, registration,
补正, consultations, extensions asked and approved, decisions, replies, some late), so supervisors'
lists and the annual report have something true to show.

Profiles give the year's figures; `linhai-2020` is 临海市's published 2020 report (248 received:
自然人 239, 商业企业 2, 科研机构 2, 法律服务机构 1, 其他 4; 予以公开 115, 部分公开 33, 不予公开 11,
无法提供 64, 不予处理 7, 其他处理 8; 结转下年度 10; all in time), which the generated year
reproduces exactly. Every letter is marked 演示文书.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import select

from access import agencies, users
from access.models import Agency
from core.config import Settings
from core.db import session_scope
from replies.catalog import decision_spec, required_parts
from replies.service import advance_and_issue, save_draft, serve_letter
from states.calendar_years import calendar_for
from states.agency import signoff_groups
from states.codes import OUTCOMES, REVIEWED_OUTCOMES, ApplicantKind
from states.models import Request
from states.service import receive

STAFF, HEAD, LEGAL = "demo.staff", "demo.head", "demo.legal"


@dataclass
class Profile:
    agency: dict
    kinds: dict[str, int]           # received in the year, by applicant kind
    outcomes: dict[str, int]        # decided in the year (`withdraw`: withdrawn, 其他处理-3)
    carried_out: int                # left open at the year's end
    late: int = 0                   # replied after the due date
    extensions: int = 0
    supplements: int = 0            # 补正 asked and received (besides the unanswered ones)
    consultations: int = 0          # third-party consultations (besides the refusals on Art 15)


LINHAI_2020 = Profile(
    agency={"code": "linhai", "name": "临海市人民政府办公室", "abbr": "临政办",
            "address": "浙江省临海市（演示）", "phone": "0576-00000000",
            "review_body": "临海市人民政府", "court": "临海市人民法院", "contact_person": "演示联系人"},
    kinds={"natural_person": 239, "commercial": 2, "research": 2, "legal_service": 1, "other": 4},
    outcomes={"disclosed": 100, "disclosed_already_public": 15, "partially_disclosed": 33,
              "withheld_third_party_rights": 4, "withheld_internal_affairs": 3,
              "withheld_process_information": 4, "unavailable_not_held": 40,
              "unavailable_not_this_agency": 10, "unavailable_needs_creation": 14,
              "not_processed_repeat": 3, "not_processed_petition": 2,
              "not_processed_publication": 2, "other_no_supplement": 5, "withdraw": 3},
    carried_out=10, late=0, extensions=12, supplements=9, consultations=20)
PROFILES = {"linhai-2020": LINHAI_2020}


def scaled(count: int) -> Profile:
    """The 临海 proportions for `count` requests, with some replies late (a default demo)."""
    base = LINHAI_2020
    total = sum(base.kinds.values())

    def scale(d: dict[str, int]) -> dict[str, int]:
        out = {k: round(v * count / total) for k, v in d.items()}
        return {k: v for k, v in out.items() if v}

    kinds = scale(base.kinds)
    kinds["natural_person"] += count - sum(kinds.values())
    carried = max(1, round(count * base.carried_out / total))
    outcomes = scale(base.outcomes)
    outcomes["disclosed"] += count - carried - sum(outcomes.values())
    return Profile(agency={**base.agency, "code": "demo", "name": "演示市人民政府办公室",
                           "abbr": "演政办", "review_body": "演示市人民政府",
                           "court": "演示市人民法院"},
                   kinds=kinds, outcomes=outcomes, carried_out=carried, late=max(1, count // 20),
                   extensions=count // 20, supplements=count // 25, consultations=count // 12)


@dataclass
class Plan:
    kind: str
    outcome: str | None              # None: still open at the year's end
    received_on: dt.date
    supplement: bool = False
    consultation: bool = False
    extension: bool = False
    late: bool = False
    steps: list = field(default_factory=list)


_TEXT = {
    "findings": "经检索，本机关对申请所涉信息进行了查找和审查",
    "provision": "现以电子邮件方式随本答复书一并提供",
    "reasons": "该部分信息依法不予公开，理由详见上文",
    "withheld_parts": "涉及第三方商业秘密的部分",
    "where_public": "本机关门户网站“政府信息公开”栏目",
    "where_to_apply": "请向不动产登记中心按查询程序办理",
}
_DECISION_REASONS = {
    "partially_disclosed": "部分内容涉及第三方商业秘密", "withheld_third_party_rights": "涉及第三方商业秘密",
    "withheld_internal_affairs": "属于本机关内部人事管理信息",
    "withheld_process_information": "属于讨论记录等过程性信息",
}


def _ensure_setup(engine: Engine, profile: Profile) -> str:
    with session_scope(engine) as session:
        if session.exec(select(Agency).where(Agency.code == profile.agency["code"])).first() is None:
            agencies.add_agency(session, profile.agency["code"],
                                {k: v for k, v in profile.agency.items() if k != "code"}, "cli:demo")
        for name, role, display in ((STAFF, "staff", "演示经办人"), (HEAD, "supervisor", "演示负责人"),
                                    (LEGAL, "legal", "演示法制审核员")):
            try:
                users.get_user(session, name)
            except Exception:  # noqa: BLE001 — not there yet
                users.add_user(session, name, role, actor="cli:demo", agency=profile.agency["code"],
                               display_name=display)
        session.commit()
    return profile.agency["code"]


def _plans(profile: Profile, year: int, calendar, rng: random.Random) -> list[Plan]:
    kinds = [k for k, n in profile.kinds.items() for _ in range(n)]
    rng.shuffle(kinds)
    outcomes = [o for o, n in profile.outcomes.items() for _ in range(n)]
    rng.shuffle(outcomes)
    days = [d for d in (dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(366))
            if d.year == year and calendar.is_workday(d)]
    # Decided requests arrive by the end of October; the ones still open came in December.
    early = [d for d in days if d.month <= 10]
    late_year = [d for d in days if d >= dt.date(year, 12, 10)]
    plans = []
    for i, kind in enumerate(kinds):
        if i < len(outcomes):
            plans.append(Plan(kind, outcomes[i], rng.choice(early)))
        else:
            plans.append(Plan(kind, None, rng.choice(late_year)))
    decided = [p for p in plans if p.outcome and p.outcome not in ("withdraw", "other_no_supplement")]
    for p in plans:
        if p.outcome == "other_no_supplement":
            p.supplement = True
        if p.outcome in ("withheld_third_party_rights", "partially_disclosed"):
            p.consultation = True
    for flag, n in (("supplement", profile.supplements), ("extension", profile.extensions),
                    ("late", profile.late)):
        for p in rng.sample([p for p in decided if not getattr(p, flag)], min(n, len(decided))):
            setattr(p, flag, True)
    extra = profile.consultations - sum(p.consultation for p in plans)
    if extra > 0:
        for p in rng.sample([p for p in decided if not p.consultation], min(extra, len(decided))):
            p.consultation = True
    return sorted(plans, key=lambda p: p.received_on)


def _applicant(kind: str, i: int) -> dict:
    if kind == ApplicantKind.natural_person:
        return {"name": f"演示申请人{i:04d}", "kind": kind}
    return {"name": f"演示单位{i:04d}", "kind": kind}


def generate_year(engine: Engine, settings: Settings, year: int, profile: Profile, *,
                  seed: int = 2020, progress: Callable[[int], None] | None = None) -> dict:
    """Put a year of requests through the one door; returns what was made."""
    settings = settings.model_copy(update={"demo_mode": True})  # every letter says 演示文书
    code = _ensure_setup(engine, profile)
    rng = random.Random(seed)
    with session_scope(engine) as session:
        calendar = calendar_for(session, settings)
        agency_id = agencies.get_agency(session, code).id
        head_name = users.get_user(session, HEAD).display_name
    plans = _plans(profile, year, calendar, rng)
    made = {"received": 0, "decided": 0, "open": 0}
    for i, plan in enumerate(plans, start=1):
        with session_scope(engine) as session:
            row = receive(session, applicant=_applicant(plan.kind, i), channel=rng.choice(
                ["online", "online", "post", "in_person"]), received_on=plan.received_on,
                description=f"{year}年度本市有关事项的政府信息（演示申请{i}）", actor=STAFF,
                agency_id=agency_id, requested_form="电子邮件", settings=settings)
            session.commit()
            rid = row.id

        outcome = _walk(engine, rid, i, plan, settings, calendar, rng, head_name)
        made["received"] += 1
        made[outcome] += 1
        if progress:
            progress(1)
    return {"agency": code, "year": year, **made}


def _walk(engine: Engine, rid: int, i: int, plan: Plan, settings: Settings, calendar,
          rng: random.Random, head_name: str) -> str:
    """Take one received request through its year as staff and the head would: "decided" or
    "open" (still open at the year's end)."""
    wd = calendar.workday_after

    def step(event: str, on: dt.date, actor: str = STAFF, **data):
        # Each step happens on its day, as it would have in that year (approvals are dated
        # the day they are given).
        then = settings.model_copy(update={"today_override": on})
        with session_scope(engine) as session:
            advance_and_issue(session, rid, event, actor, on=on, settings=then, **data)
            session.commit()

    day = plan.received_on
    step("register", day)
    if plan.outcome is None:
        return "open"
    day = wd(day, 1)
    step("review", day)
    if plan.outcome == "withdraw":
        step("withdraw", wd(day, 2), reason="申请人撤回申请")
        return "decided"
    if plan.supplement:
        step("request_supplement", day, items=["请明确所需信息的名称或文号"])
        _serve_latest(engine, rid, "supplement_notice", wd(day, 1), settings)
        if plan.outcome == "other_no_supplement":
            with session_scope(engine) as session:
                deadline = session.get(Request, rid).supplement_deadline
            step("decide", wd(deadline, 1), outcome="other_no_supplement")
            step("send_reply", wd(deadline, 1))
            return "decided"
        day = wd(day, 4)
        step("receive_supplement", day)
    if plan.consultation:
        step("open_consultation", day, party="third_party", name=f"演示第三方{i:04d}")
        _serve_latest(engine, rid, "consultation_third_party", wd(day, 1), settings)
        with session_scope(engine) as session:
            from states.models import Consultation
            c = session.exec(select(Consultation).where(Consultation.request_id == rid)).one()
        day = wd(day, 6)
        opinion = "objection" if plan.outcome != "disclosed" else "consent"
        step("close_consultation", day, consultation_id=c.id, opinion=opinion)
    with session_scope(engine) as session:
        due = session.get(Request, rid).due_on
    if plan.extension:
        ask = min(wd(day, 1), due)
        step("request_extension", ask, days=10, reason="所需信息涉及多个部门，需要协调")
        step("approve_extension", ask, actor=HEAD, approved_by=head_name)
        with session_scope(engine) as session:
            due = session.get(Request, rid).due_on
    if plan.late:
        decide_on = wd(due, 3)
    else:
        decide_on = max(day, min(wd(day, rng.randint(2, 12)), due))
    data = {"outcome": plan.outcome}
    if plan.outcome in _DECISION_REASONS:
        data["reason"] = _DECISION_REASONS[plan.outcome]
    if plan.outcome == "partially_disclosed":
        data["withheld_ground"] = "withheld_third_party_rights"
    elif plan.outcome.startswith(("withheld", "not_processed", "unavailable")):
        data.setdefault("reason", "经审查，依照条例相关规定处理")
    if plan.outcome == "unavailable_not_this_agency":
        data.update(responsible_agency="演示市有关部门", responsible_agency_contact="演示地址，电话0576-00000001")
    if plan.outcome in REVIEWED_OUTCOMES:  # 先审查后公开
        partly = plan.outcome == "partially_disclosed"
        step("review_confidentiality", decide_on, conclusion=REVIEWED_OUTCOMES[plan.outcome],
             basis="经审查，所申请信息不涉及国家秘密", reviewed_by="演示经办人",
             redactions=[{"part": "第三方报价明细", "ground": "withheld_third_party_rights"}] if partly else None)
    step("decide", decide_on, **data)
    spec = decision_spec(plan.outcome)
    with session_scope(engine) as session:
        parts = {p: _TEXT.get(p, "见上文") for p in required_parts(spec, {}, "电子邮件")}
        save_draft(session, rid, STAFF, parts)
        legal_groups = signoff_groups(session, session.get(Request, rid))[1]
        session.commit()
    if OUTCOMES[plan.outcome].report_group in legal_groups:  # 法制审核 before the reply goes out
        step("legal_signoff", decide_on, actor=LEGAL, conclusion="approved", signed_by="演示法制审核员")
    step("send_reply", decide_on)
    return "decided"


def _serve_latest(engine: Engine, rid: int, kind: str, served_on: dt.date, settings: Settings) -> None:
    from replies.service import letters_of

    with session_scope(engine) as session:
        letter = [x for x, _ in letters_of(session, rid) if x.kind == kind][-1]
        serve_letter(session, rid, letter.id, method="in_person", served_on=served_on,
                     actor=STAFF, settings=settings)
        session.commit()
