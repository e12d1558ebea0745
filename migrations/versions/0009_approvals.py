"""approvals as real steps: an extension asked by staff and approved (or refused) by the OGI
office head; the head's sign-off of a reply where the agency requires it

Existing extensions stay as they were (approved, with the approver's name as recorded).

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

from core.migrate import drop_columns

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (("extension_reason", sa.Text()), ("extension_requested_days", sa.Integer()),
           ("extension_requested_by", sa.String()), ("extension_requested_on", sa.Date()),
           ("extension_request_reason", sa.Text()), ("reply_approved_by", sa.String()),
           ("reply_approved_on", sa.Date()))


def upgrade() -> None:
    # Plain nullable columns, added in place (see 0007 on why `request` is never rebuilt).
    for name, type_ in COLUMNS:
        op.add_column("request", sa.Column(name, type_, nullable=True))
    op.add_column("agency", sa.Column("reply_signoff", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    drop_columns("agency", "reply_signoff")
    drop_columns("request", *[name for name, _ in reversed(COLUMNS)])
