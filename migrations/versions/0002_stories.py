"""stories: reports grouped into stories, and the key index that finds candidate stories

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Written by hand; tests/test_storage.py checks the models and the migrations agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("first_published", Timestamp, nullable=False),
        sa.Column("last_published", Timestamp, nullable=False),
        sa.Column("source_count", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("follow_up_of", sa.Integer(), nullable=True),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["follow_up_of"], ["stories.id"], name="fk_stories_follow_up_of_stories", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
    )
    op.create_index("ix_stories_last_published", "stories", ["last_published"])
    op.create_table(
        "story_keys",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("last_published", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_keys_story_id_stories", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", "story_id", name="pk_story_keys"),
    )
    op.create_index("ix_story_keys_key_last_published", "story_keys", ["key", "last_published"])
    op.create_index("ix_items_story_id", "items", ["story_id"])


def downgrade() -> None:
    op.drop_index("ix_items_story_id", table_name="items")
    op.drop_index("ix_story_keys_key_last_published", table_name="story_keys")
    op.drop_table("story_keys")
    op.drop_index("ix_stories_last_published", table_name="stories")
    op.drop_table("stories")
