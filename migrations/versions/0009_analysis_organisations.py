"""organisations of a stored analysis: item_analyses.organisations

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Written by hand; tests/test_storage.py checks the models and the migrations agree. The story step tells a
report that names a body (a ministry, a parliament) from one that names only places. Existing analyses get
none; their version (FACTS_RULES 7) is stale, so each is made again, with its organisations, when next read.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item_analyses") as batch:
        batch.add_column(sa.Column("organisations", sa.Text(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("item_analyses") as batch:
        batch.drop_column("organisations")
