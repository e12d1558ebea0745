"""indexes for the live overdue and due-soon lists: partial, over the requests whose clock runs

Of a million requests most are finished and have a past due date too; an index on `due_on` alone
would walk them all. These hold only the clocked states, in (due_on, id) order, overall and per
agency, so a page of the overdue list is an index range scan.

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# states.machine.CLOCKED_STATES at this revision (a migration never imports what may change).
CLOCKED = ("received", "registered", "reviewing", "consulting", "awaiting_fee", "decided")
WHERE = "state IN (" + ", ".join(f"'{s}'" for s in CLOCKED) + ")"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_request_clocked_due ON request (due_on, id) WHERE {WHERE}")
    op.execute(f"CREATE INDEX ix_request_clocked_agency_due ON request (agency_id, due_on, id) "
               f"WHERE {WHERE}")


def downgrade() -> None:
    op.execute("DROP INDEX ix_request_clocked_agency_due")
    op.execute("DROP INDEX ix_request_clocked_due")
