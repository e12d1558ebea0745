"""The role × route matrix, read from the routes themselves: each route's permission dependency
(api/deps.py `allow`) and whether it is scoped to the request's agency. One source of truth for
the README's table, `gongkai access matrix` and the test that checks every cell."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.routing import APIRoute

from access.policy import PERMISSIONS, ROLES

# Routes anyone may call: logging in, the health check, the documentation.
PUBLIC = {("POST", "/api/v1/auth/login"), ("GET", "/api/v1/health")}


@dataclass(frozen=True)
class Cell:
    method: str
    path: str
    permission: str | None          # None: public
    scoped: bool                    # {request_id} of another agency (or unit): 404

    @property
    def roles(self) -> frozenset[str]:
        return PERMISSIONS[self.permission][0] if self.permission else frozenset(ROLES)


def _guard(dependant) -> tuple[str | None, bool]:
    for dep in dependant.dependencies:
        permission = getattr(dep.call, "permission", None)
        if permission:
            return permission, bool(getattr(dep.call, "scoped", False))
        found = _guard(dep)
        if found[0]:
            return found
    return None, False


def routes() -> list[APIRoute]:
    from api.app import ROUTERS

    return [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def matrix() -> list[Cell]:
    cells = []
    for route in routes():
        permission, scoped = _guard(route.dependant)
        for method in sorted(route.methods):
            cells.append(Cell(method, route.path, permission, scoped))
    return sorted(cells, key=lambda c: (c.path, c.method))


def unguarded() -> list[str]:
    """Routes with no permission that are not meant to be public (the test wants none)."""
    return [f"{c.method} {c.path}" for c in matrix()
            if c.permission is None and (c.method, c.path) not in PUBLIC]


def matrix_markdown() -> str:
    head = "| route | permission | " + " | ".join(f"{r} {label}" for r, label in ROLES.items()) + " |"
    lines = [head, "| --- | --- |" + " :-: |" * len(ROLES)]
    for c in matrix():
        if c.permission is None:
            marks, what = ["公开"] * len(ROLES), "public"
        else:
            marks = ["✓" if role in c.roles else "—" for role in ROLES]
            what = c.permission + (" (own agency)" if c.scoped else "")
        lines.append(f"| `{c.method} {c.path}` | {what} | " + " | ".join(marks) + " |")
    lines.append("")
    lines.append("Anonymous: 401 on every route but the public ones. — : 403. (own agency): a request "
                 "of an agency outside the user's scope (or, for staff of a unit, of another unit) "
                 "is a 404.")
    return "\n".join(lines)


START, END = "<!-- role-matrix:", "<!-- /role-matrix -->"


def write_into(path) -> bool:
    """Replace the matrix between the README's markers; True if it changed."""
    from pathlib import Path

    text = Path(path).read_text(encoding="utf-8")
    start = text.index(START)
    start = text.index("\n", start) + 1
    end = text.index(END)
    new = text[:start] + matrix_markdown() + "\n" + text[end:]
    if new != text:
        Path(path).write_text(new, encoding="utf-8")
    return new != text
