"""ingest: feeds, their items, and the topics each item matched

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Written by hand; tests/test_storage.py checks it against bot/storage/models.py. Constraint names follow
the naming convention in the models, so later revisions can drop or alter them on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored as UTC; bot.storage.models.UTCDateTime converts on the way in and out.
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        # What feeds.yaml says, kept apart from `url`, which follows permanent redirects.
        sa.Column("config_url", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("body_hash", sa.Text(), nullable=True),
        sa.Column("next_check_at", Timestamp, nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", Timestamp, nullable=True),
        sa.Column("last_success_at", Timestamp, nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("malformed", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feeds"),
        sa.UniqueConstraint("name", name="uq_feeds_name"),
    )
    # The scheduler's "which feeds are due" query.
    op.create_index("ix_feeds_next_check_at", "feeds", ["next_check_at"])

    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("outlet", sa.String(200), nullable=False),
        sa.Column("guid", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_key", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("published_at", Timestamp, nullable=False),
        sa.Column("fetched_at", Timestamp, nullable=False),
        sa.Column("published_estimated", sa.Boolean(), nullable=False),
        # The stories table comes in a later revision, which adds the foreign key.
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_items"),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"], name="fk_items_feed_id_feeds"),
        sa.UniqueConstraint("feed_id", "guid", name="uq_items_feed_id_guid"),
        # Canonical links are unique across feeds: one article is stored once, whoever syndicates it.
        sa.UniqueConstraint("link", name="uq_items_link"),
    )
    op.create_index("ix_items_published_at", "items", ["published_at"])
    # The "same title from the same outlet" duplicate rule.
    op.create_index("ix_items_outlet_title_key", "items", ["outlet", "title_key"])

    op.create_table(
        "item_topics",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "topic", name="pk_item_topics"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name="fk_item_topics_item_id_items", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_item_topics_topic", "item_topics", ["topic"])


def downgrade() -> None:
    op.drop_index("ix_item_topics_topic", table_name="item_topics")
    op.drop_table("item_topics")
    op.drop_index("ix_items_outlet_title_key", table_name="items")
    op.drop_index("ix_items_published_at", table_name="items")
    op.drop_table("items")
    op.drop_index("ix_feeds_next_check_at", table_name="feeds")
    op.drop_table("feeds")
