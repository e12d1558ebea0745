"""audit checkpoints: the Merkle tree's leaves, stored subtrees and signed tree heads

Revision ID: 0014
Revises: 0013

Nothing to carry forward: the first `gongkai audit checkpoint` after the upgrade takes every
existing event as a leaf, in id order, after checking its chain.
"""
from alembic import op
import sqlalchemy as sa

from audit.guards import drop_statements, guard_statements

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = ("audit_leaf", "audit_node", "audit_checkpoint")


def upgrade() -> None:
    op.create_table(
        "audit_leaf",
        sa.Column("idx", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Integer(), nullable=False, unique=True),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
    )
    # A request's latest leaf below a tree size: its head's inclusion proof.
    op.create_index("ix_audit_leaf_request", "audit_leaf", ["request_id", "idx"])
    op.create_table(
        "audit_node",
        sa.Column("level", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(), nullable=False),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(), nullable=False),
        sa.Column("signed_at", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("public_key", sa.String(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for stmt in guard_statements(dialect, table):
            op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for stmt in drop_statements(dialect, table):
            op.execute(stmt)
        op.drop_table(table)
