"""Tables of the reports room: annual reports as published (the figures an agency made public)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class PublishedReport(SQLModel, table=True):
    """An annual report's tables as published: later changes to that year are not silently
    absorbed — the live figures are compared with these and every difference listed as a
    correction (更正)."""
    __tablename__ = "published_report"
    __table_args__ = (UniqueConstraint("agencies", "year", "layout", name="uq_published_report"),)
    id: int | None = Field(default=None, primary_key=True)
    agencies: str              # the agency codes it covers, sorted, comma-separated
    year: int
    layout: str                # 2021 / 2019
    figures: str = Field(sa_column=Column(Text, nullable=False))  # the report's JSON
    published_by: str
    published_at: dt.datetime
