"""SQL expressions the two supported databases spell differently, for statements that must do
in the database what Python would otherwise do between two round trips."""

from __future__ import annotations

from sqlalchemy import Date
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class month_start(FunctionElement):
    """The first day of the calendar month of a DATE."""
    type = Date()
    inherit_cache = True
    name = "month_start"


class next_month_start(FunctionElement):
    """The first day of the calendar month after that of a DATE."""
    type = Date()
    inherit_cache = True
    name = "next_month_start"


def _date_arg(compiler, element, **kw) -> str:
    (arg,) = element.clauses
    return compiler.process(arg, **kw)


# PostgreSQL: the date is cast to a timestamp without time zone, so that the session's TimeZone
# plays no part (date_trunc would otherwise take it as a timestamptz).
@compiles(month_start, "postgresql")
def _month_start_pg(element, compiler, **kw):
    return f"CAST(date_trunc('month', CAST({_date_arg(compiler, element, **kw)} AS TIMESTAMP)) AS DATE)"


@compiles(next_month_start, "postgresql")
def _next_month_start_pg(element, compiler, **kw):
    return (f"CAST(date_trunc('month', CAST({_date_arg(compiler, element, **kw)} AS TIMESTAMP)) "
            "+ INTERVAL '1 month' AS DATE)")


# SQLite holds a DATE as its ISO text, which these return too.
@compiles(month_start, "sqlite")
def _month_start_sqlite(element, compiler, **kw):
    return f"date({_date_arg(compiler, element, **kw)}, 'start of month')"


@compiles(next_month_start, "sqlite")
def _next_month_start_sqlite(element, compiler, **kw):
    return f"date({_date_arg(compiler, element, **kw)}, 'start of month', '+1 month')"


@compiles(month_start)
@compiles(next_month_start)
def _unsupported(element, compiler, **kw):
    raise CompileError(f"{element.name} is written for PostgreSQL and SQLite only")
