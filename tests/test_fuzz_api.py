"""A bounded schemathesis run over the whole OpenAPI, on SQLite and on PostgreSQL when reachable:
whatever input it generates, the API never answers 5xx, and every answer conforms to what the
OpenAPI declares (status codes, content types, response schemas)."""

from __future__ import annotations

import os

import schemathesis
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from api.app import create_app
from api.matrix import matrix
from tests.conftest import fire, make_user, new_request, review

# Bounded in the default suite; a longer run: GONGKAI_FUZZ_EXAMPLES=300 pytest tests/test_fuzz_api.py
EXAMPLES_PER_OPERATION = int(os.environ.get("GONGKAI_FUZZ_EXAMPLES", "25"))


def test_no_generated_input_gets_a_server_error(client, engine, settings):
    # Something for the generated ids to hit: a request with letters, a decision and a draft.
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    review(client, rid, "2026-03-05")
    fire(client, rid, "decide", "2026-03-05", outcome="disclosed")
    # Each route fuzzed as a role that may call it (admin routes as the admin, and so on), so the
    # generated input reaches the route's own validation, not just the 403.
    tokens = {role: make_user(engine, f"fuzz.{role}", role, scope="all" if role != "staff" else None)
              for role in ("staff", "supervisor", "legal", "admin")}
    token_for = {}
    for cell in matrix():
        role = next((r for r in ("staff", "supervisor", "legal", "admin") if r in cell.roles), "staff")
        token_for[(cell.method, cell.path)] = tokens[role]
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(engine, settings))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures: list[str] = []
    seen: list[int] = []

    @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION * len(operations), deadline=None,
                         derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        operation = data.draw(st.sampled_from(operations))
        mode = data.draw(st.sampled_from(list(GenerationMode)))  # valid input and invalid
        case = data.draw(operation.as_strategy(generation_mode=mode))
        response = case.call(headers={"Authorization": f"Bearer {token_for[(operation.method.upper(), operation.path)]}"})
        seen.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r} "
                            f"→ {response.status_code} {response.text[:200]}")
            return
        try:
            case.validate_response(response, checks=[status_code_conformance,
                                                     content_type_conformance,
                                                     response_schema_conformance])
        except Exception as exc:  # schemathesis raises a group of the checks that failed
            failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: "
                            f"{str(exc)[:300]}")

    run()
    assert len(seen) == EXAMPLES_PER_OPERATION * len(operations) and 200 in seen
    assert failures == []
