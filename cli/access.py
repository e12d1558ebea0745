"""`gongkai users|tokens|agencies|access`: the admin's commands for who acts and for whom.

Scriptable: a password comes from stdin when it is not a terminal (or is generated and printed
once); `gongkai tokens create NAME` prints the token alone on stdout. Every change is written to
the access log as `cli:<operating-system user>`.
"""

from __future__ import annotations

import getpass
import sys

import typer

users_app = typer.Typer(help="Users and their roles (经办人 staff, 法制审核 legal, 负责人 supervisor, admin).",
                        no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (bearer) for scripts and other systems.", no_args_is_help=True)
agencies_app = typer.Typer(help="Agencies (行政机关) and their units (科室).", no_args_is_help=True)
access_app = typer.Typer(help="The role × route policy and the access log.", no_args_is_help=True)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def run_in_session(change):
    """Run `change(session)` in one transaction; an access error exits 2 with its message."""
    from sqlalchemy.exc import SQLAlchemyError

    from access.errors import AccessError
    from core.db import session_scope
    from core.config import get_settings
    from access.agencies import bootstrap

    try:
        with session_scope() as session:
            bootstrap(session, get_settings())
            result = change(session)
            session.commit()
            return result
    except AccessError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    except SQLAlchemyError as exc:
        typer.echo(f"the database is not ready ({type(exc).__name__}): run `gongkai db upgrade` "
                   "first", err=True)
        raise typer.Exit(2) from None


def _password_from_stdin() -> tuple[str, bool]:
    """(password, generated): stdin's first line when piped, else a generated one."""
    from access.passwords import generate_password

    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if line:
            return line, False
    return generate_password(), True


def _scope(value: str | None):
    if not value:
        return None
    return "all" if value == "all" else [c.strip() for c in value.split(",") if c.strip()]


@users_app.command("add")
def users_add(name: str, role: str = typer.Option(..., help="staff / legal / supervisor / admin"),
              agency: str | None = typer.Option(None, help="code of the user's agency"),
              unit: str | None = typer.Option(None, help="staff: the unit (科室) they serve"),
              scope: str | None = typer.Option(None, help="legal/supervisor: agency codes "
                                               "(comma-separated) or 'all'"),
              display_name: str = typer.Option("", help="the name shown, e.g. 王芳")) -> None:
    """Add a user. The password is read from stdin if piped, else generated and printed once."""
    from access import users
    from core.config import get_settings

    password, generated = _password_from_stdin()
    run_in_session(lambda s: users.add_user(s, name, role, actor=_actor(), agency=agency, unit=unit,
                                  scope=_scope(scope), display_name=display_name, password=password,
                                  min_password_length=get_settings().password_min_length))
    typer.echo(f"user {name} added ({role})")
    if generated:
        typer.echo(f"password: {password}")


@users_app.command("list")
def users_list() -> None:
    """Every user: name, role, agency, unit, scope, and whether disabled or locked."""
    from access import users

    rows = run_in_session(lambda s: [users.describe(s, u) for u in users.list_users(s)])
    for u in rows:
        scope = u["scope"] if isinstance(u["scope"], str) else ",".join(u["scope"]) or "-"
        flags = " disabled" if u["disabled"] else ""
        flags += f" locked-until={u['locked_until']:%Y-%m-%d %H:%M}" if u["locked_until"] else ""
        typer.echo(f"{u['username']:24} {u['role']:10} agency={u['agency'] or '-'} "
                   f"unit={u['unit'] or '-'} scope={scope}{flags}")


@users_app.command("disable")
def users_disable(name: str, enable: bool = typer.Option(False, "--enable", help="enable it again")) -> None:
    """Disable a user: their tokens and sessions stop working at once."""
    from access import users

    run_in_session(lambda s: users.set_disabled(s, name, not enable, actor=_actor()))
    typer.echo(f"user {name} {'enabled' if enable else 'disabled'}")


@users_app.command("set-password")
def users_set_password(name: str) -> None:
    """A new password (stdin if piped, else generated and printed); unlocks the account."""
    from access import users
    from core.config import get_settings

    password, generated = _password_from_stdin()
    run_in_session(lambda s: users.set_password(s, name, password, actor=_actor(),
                                      min_length=get_settings().password_min_length))
    typer.echo(f"password of {name} set")
    if generated:
        typer.echo(f"password: {password}")


@users_app.command("set-role")
def users_set_role(name: str, role: str, agency: str | None = typer.Option(None),
                   unit: str | None = typer.Option(None), scope: str | None = typer.Option(None)) -> None:
    """Change a user's role and placement (agency, unit, scope: given together)."""
    from access import users

    run_in_session(lambda s: users.set_role(s, name, role, actor=_actor(), agency=agency, unit=unit,
                                  scope=_scope(scope)))
    typer.echo(f"user {name} is now {role}")


@tokens_app.command("create")
def tokens_create(name: str, days: int | None = typer.Option(None, help="lifetime; default "
                                                               "GONGKAI_TOKEN_DAYS"),
                  label: str = typer.Option("", help="what it is for")) -> None:
    """Create a token for user NAME and print it alone on stdout (it is never shown again)."""
    from access import tokens
    from core.config import get_settings

    _, secret = run_in_session(lambda s: tokens.create_token(s, name, days=days or get_settings().token_days,
                                                   actor=_actor(), label=label))
    typer.echo(secret)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by its id (`gongkai tokens list NAME`)."""
    from access import tokens

    run_in_session(lambda s: tokens.revoke_token(s, token_id, actor=_actor()))
    typer.echo(f"token {token_id} revoked")


@tokens_app.command("list")
def tokens_list(name: str) -> None:
    """A user's tokens: id, label, expiry, revoked."""
    from access import tokens, users

    rows = run_in_session(lambda s: tokens.tokens_of(s, users.get_user(s, name).id))
    for t in rows:
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else f"expires {t.expires_at:%Y-%m-%d}"
        typer.echo(f"{t.id:6} {state:20} {t.label}")


def _agency_fields(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            typer.echo(f"refused: {pair!r} is not FIELD=VALUE", err=True)
            raise typer.Exit(2)
        out[key.strip()] = value
    return out


@agencies_app.command("add")
def agencies_add(code: str, fields: list[str] = typer.Argument(None, help="FIELD=VALUE …, e.g. "
                                                                "name=杭州市西湖区住房和城乡建设局")) -> None:
    """Add an agency; fields not given stay placeholders (its letters are refused until set)."""
    from access import agencies

    row = run_in_session(lambda s: agencies.add_agency(s, code, _agency_fields(fields or []), _actor()))
    typer.echo(f"agency {code} added ({row.name})")


@agencies_app.command("set")
def agencies_set(code: str, fields: list[str] = typer.Argument(..., help="FIELD=VALUE …")) -> None:
    """Change an agency's letterhead, address, 复议机关 …; letters already sent keep theirs."""
    from access import agencies

    run_in_session(lambda s: agencies.update_agency(s, code, _agency_fields(fields), _actor()))
    typer.echo(f"agency {code} changed")


@agencies_app.command("add-unit")
def agencies_add_unit(code: str, name: str) -> None:
    """Add a unit (科室) to an agency."""
    from access import agencies

    run_in_session(lambda s: agencies.add_unit(s, code, name, _actor()))
    typer.echo(f"unit {name} added to {code}")


@agencies_app.command("list")
def agencies_list() -> None:
    """Every agency: code, name, and the fields its letters still need."""
    from access import agencies

    rows = run_in_session(lambda s: [(a.code, a.name, a.active, agencies.missing(a))
                           for a in agencies.list_agencies(s)])
    for code, name, active, missing in rows:
        note = "" if active else " (disabled)"
        note += f"  missing: {', '.join(missing)}" if missing else ""
        typer.echo(f"{code:16} {name}{note}")


@agencies_app.command("show")
def agencies_show(code: str) -> None:
    """One agency's fields as its letters print them; exit 1 if any required one is missing."""
    from access import agencies

    row, missing = run_in_session(lambda s: (agencies.get_agency(s, code), agencies.missing(agencies.get_agency(s, code))))
    for field in agencies.FIELDS:
        typer.echo(f"{field:20} {getattr(row, field) or ''}")
    if missing:
        typer.echo(f"missing: {', '.join(missing)} (letters are refused until they are set: "
                   f"gongkai agencies set {code} FIELD=VALUE)", err=True)
        raise typer.Exit(1)


@access_app.command("matrix")
def access_matrix(write: str | None = typer.Option(None, "--write", metavar="README.md",
                                                   help="replace the matrix between the file's "
                                                        "role-matrix markers instead")) -> None:
    """Print the role × route matrix (markdown), generated from the routes' dependencies."""
    from api.matrix import matrix_markdown, write_into

    if write:
        typer.echo(f"{write}: {'updated' if write_into(write) else 'already current'}")
    else:
        typer.echo(matrix_markdown())


@access_app.command("log")
def access_log(verify_only: bool = typer.Option(False, "--verify", help="only verify the chain")) -> None:
    """The access log (agencies, users, roles, tokens), verified; exit 1 if the chain is broken."""
    import audit
    from core.db import session_scope

    with session_scope() as session:
        result = audit.verify_access(session)
        events = [] if verify_only else audit.access_history(session)
    for e in events:
        typer.echo(f"{e.seq:6} {e.recorded_at[:19]} {e.actor:20} {e.event:24} {e.subject} {e.data}")
    typer.echo(f"access log: {result.events} events, "
               + ("verified" if result.ok else f"broken at event {result.first_broken_seq}: {result.reason}"))
    raise typer.Exit(0 if result.ok else 1)
