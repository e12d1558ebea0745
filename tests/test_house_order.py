"""The house stays in order: each kind of change lives in one room, and the places that must agree
do. A new event, side effect, outcome code or import across rooms that breaks the plan fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from api.schemas import EVENT_BODIES
from replies.catalog import NOTICE_OF_EVENT
from replies.service import RENDER_EFFECT
from states.codes import OUTCOMES
from states.machine import RequestMachine
from states.service import EVENTS, SIDE_EFFECTS
from tests.conftest import fire, new_request, serve
from workflows.effects import EFFECTS

ROOT = Path(__file__).resolve().parent.parent

# DESIGN.md's rooms, lowest first, and what each may import of ours (README "Rooms").
MAY_IMPORT = {
    "core": {"core"},
    "audit": {"audit", "core"},
    "access": {"access", "audit", "core"},
    "states": {"states", "access", "audit", "core"},
    "replies": {"replies", "states", "audit", "core"},
    "reports": {"reports", "states", "audit", "core"},
    "workflows": {"workflows", "reports", "replies", "states", "audit", "core"},
    "web": {"web", "workflows", "reports", "replies", "states", "access", "audit", "core"},
    # api/app.py is the one ASGI app: it mounts web's pages beside the JSON routes.
    "api": {"api", "web", "workflows", "reports", "replies", "states", "access", "audit", "core"},
    "cli": {"cli", "api", "web", "workflows", "reports", "replies", "states", "access", "audit",
            "core"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("room", sorted(MAY_IMPORT))
def test_a_room_imports_only_the_rooms_below_it(room):
    ours = set(MAY_IMPORT)
    wrong = {f"{path.relative_to(ROOT)} imports {name}"
             for path in (ROOT / room).rglob("*.py")
             for name in _imports(path) & ours - MAY_IMPORT[room]}
    assert wrong == set()


def test_every_event_of_the_machine_has_a_typed_body_and_nothing_else_does():
    assert sorted(EVENT_BODIES) == EVENTS == sorted(str(e.id) for e in RequestMachine._events)


def test_every_event_that_sends_a_notice_is_an_event_of_the_machine():
    assert set(NOTICE_OF_EVENT) <= set(EVENTS)


def test_every_side_effect_the_engine_queues_has_an_effect_and_no_effect_is_orphaned():
    queued = {kind for kinds in SIDE_EFFECTS.values() for kind in kinds} | {RENDER_EFFECT}
    assert queued == set(EFFECTS)


def _ready_for(client, outcome: str) -> tuple[int, str, dict]:
    """A request in a state where `outcome` may lawfully be decided, the day, and the fields."""
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    if outcome == "other_no_supplement":
        fire(client, rid, "request_supplement", "2026-03-03", items=["请明确年份"], period_days=5)
        serve(client, rid, "supplement_notice", "2026-03-03")
        return rid, "2026-03-11", {}
    fire(client, rid, "review", "2026-03-02")
    if outcome == "other_fee_unpaid":
        fire(client, rid, "notify_fee", "2026-03-05", method="per_volume", pages=50, how_to_pay="转账")
        serve(client, rid, "fee_notice", "2026-03-05")
        return rid, "2026-04-03", {}
    if outcome == "not_processed_excessive":
        fire(client, rid, "ask_reasons", "2026-03-03", note="一年内同类申请四十二件")
        fire(client, rid, "receive_reasons", "2026-03-06", reasonable=False)
    if outcome == "unavailable_unclear_after_supplement":
        rid = new_request(client, received_on="2026-03-02")["id"]
        fire(client, rid, "register", "2026-03-02")
        fire(client, rid, "request_supplement", "2026-03-03", items=["请明确年份"])
        fire(client, rid, "receive_supplement", "2026-03-05")
    fields: dict = {"reason": "依法说明的理由"} if OUTCOMES[outcome].needs_reason else {}
    if outcome == "partially_disclosed":
        fields["withheld_ground"] = "withheld_third_party_rights"
        fire(client, rid, "review_confidentiality", "2026-03-10", conclusion="partly_disclosable",
             basis="部分涉及个人隐私", redactions=[{"part": "住户姓名", "ground": "privacy"}])
    if outcome == "disclosed":
        fire(client, rid, "review_confidentiality", "2026-03-10", conclusion="disclosable", basis="不涉密")
    return rid, "2026-03-10", fields


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_every_outcome_code_can_be_decided_through_the_api(client, outcome):
    # A code added in states/codes.py but missing from a database CHECK constraint would 500 here.
    rid, on, fields = _ready_for(client, outcome)
    decided = fire(client, rid, "decide", on, outcome=outcome, **fields)
    assert (decided["state"], decided["decision"]["outcome"]) == ("decided", outcome)


ONE_DOOR_RULES = ("states/machine.py", "states/review_step.py", "states/service.py",
                  "states/attachments.py", "replies/service.py")


@pytest.mark.parametrize("path", ONE_DOOR_RULES)
def test_every_rule_the_one_door_refuses_with_is_also_said_in_chinese(path):
    """The API answers in English; the pages show staff the same refusal in Chinese, so each
    rule of the one door carries its Chinese words (RuleViolation's `rule_zh`)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    bare = [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_require", "RuleViolation")
            and len(node.args) + len(node.keywords) < (4 if node.func.id == "_require" else 3)]
    assert bare == []
