"""Self-evaluation fields on indicators: the value achieved, the weight, the score, the reason for a gap.

Self-evaluation tables (绩效自评表) publish them beside the target; they are empty for target tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = ("actual_value", "weight", "score", "deviation_reason")


def upgrade() -> None:
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
