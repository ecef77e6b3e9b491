"""workers: claims on feeds and outbox rows, and leases, so several `run` processes share one database

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-30

Written by hand; tests/test_storage.py checks the models and the migrations agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    # batch mode: SQLite adds columns in place, and the batch keeps the constraint names of the models.
    with op.batch_alter_table("feeds") as feeds:
        feeds.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))
        feeds.add_column(sa.Column("claimed_until", Timestamp, nullable=True))
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))
        outbox.add_column(sa.Column("claimed_until", Timestamp, nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("acquired_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("outbox") as outbox:
        outbox.drop_column("claimed_until")
        outbox.drop_column("claimed_by")
    with op.batch_alter_table("feeds") as feeds:
        feeds.drop_column("claimed_until")
        feeds.drop_column("claimed_by")
