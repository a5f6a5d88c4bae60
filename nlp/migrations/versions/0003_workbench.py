"""The workbench: the audit's probabilities and tier on flags, server-side sessions, sign-in attempts,
bulk actions (each still one decision per indicator) and double-review assignments.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("probability", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("top", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("tier", sa.String(length=8), nullable=False, server_default="flagged"))

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["reviewers.id"], name=op.f("fk_sessions_reviewer_id_reviewers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_reviewer_id"), ["reviewer_id"], unique=False)

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempts_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempts_created_at"), ["created_at"], unique=False)

    op.create_table(
        "bulk_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("undoes_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["reviewers.id"], name=op.f("fk_bulk_actions_reviewer_id_reviewers")
        ),
        sa.ForeignKeyConstraint(
            ["undoes_id"], ["bulk_actions.id"], name=op.f("fk_bulk_actions_undoes_id_bulk_actions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_actions")),
    )
    with op.batch_alter_table("bulk_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulk_actions_reviewer_id"), ["reviewer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bulk_actions_undoes_id"), ["undoes_id"], unique=False)

    op.create_table(
        "bulk_decisions",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("bulk_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bulk_id"], ["bulk_actions.id"], name=op.f("fk_bulk_decisions_bulk_id_bulk_actions")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_bulk_decisions_decision_id_decisions")
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_bulk_decisions")),
    )
    with op.batch_alter_table("bulk_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulk_decisions_bulk_id"), ["bulk_id"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by"], ["reviewers.id"], name=op.f("fk_assignments_assigned_by_reviewers")
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicators.id"], name=op.f("fk_assignments_indicator_id_indicators")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["reviewers.id"], name=op.f("fk_assignments_reviewer_id_reviewers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("indicator_id", "reviewer_id", name="uq_assignments_indicator_reviewer"),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_indicator_id"), ["indicator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignments_reviewer_id"), ["reviewer_id"], unique=False)


def downgrade() -> None:
    for table in ("assignments", "bulk_decisions", "bulk_actions", "login_attempts", "sessions"):
        op.drop_table(table)
    with op.batch_alter_table("flags", schema=None) as batch_op:
        for name in ("tier", "top", "probability"):
            batch_op.drop_column(name)
