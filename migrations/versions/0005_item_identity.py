"""item identity: NULL for an item without a link (was ''), and a guid that may repeat within its feed

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02

Written by hand; tests/test_storage.py checks the models and the migrations agree.

Why: every linkless item was stored with link '', so the second one anywhere broke the unique key on
items.link and rolled back its whole feed. NULLs never collide under a unique constraint. And a feed that
gives one guid to several different articles needs each stored, so (feed_id, guid) becomes a plain index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot drop a constraint or relax NOT NULL in place, so the table is rebuilt.
    with op.batch_alter_table("items") as batch:
        batch.alter_column("link", existing_type=sa.Text(), nullable=True)
        batch.drop_constraint("uq_items_feed_id_guid", type_="unique")
        batch.create_index("ix_items_feed_id_guid", ["feed_id", "guid"])
    # '' was the old "no link"; the stand-ins are what a downgrade of this revision gave linkless items.
    op.execute("UPDATE items SET link = NULL WHERE link = '' OR link LIKE 'urn:advocacy-bot:no-link:%'")


def downgrade() -> None:
    # The old schema cannot hold two linkless items or a repeated guid: give those rows unique stand-ins.
    op.execute("UPDATE items SET link = 'urn:advocacy-bot:no-link:' || id WHERE link IS NULL")
    op.execute(
        "UPDATE items SET guid = guid || '#' || id "
        "WHERE id NOT IN (SELECT min(id) FROM items GROUP BY feed_id, guid)"
    )
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_feed_id_guid")
        batch.create_unique_constraint("uq_items_feed_id_guid", ["feed_id", "guid"])
        batch.alter_column("link", existing_type=sa.Text(), nullable=False)
