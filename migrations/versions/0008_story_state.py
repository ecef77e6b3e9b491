"""stored analyses and story state: item_analyses, stories.state/centre/vectors/merged_into, story_apart

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Written by hand; tests/test_storage.py checks the models and the migrations agree.

The story step now analyses each matched item once, at ingest, and keeps on the story row what a join needs
(a bounded set of member vectors and facts): the keyword index (story_keys) and the clustering profile it
replaces go. Existing stories get no state: the step rebuilds it from their members when a report comes
near them, re-analysing those members lazily. Existing sources' titles are copied into item_analyses (as
stale analyses, version '') so /search still finds a story by a source's title.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_analyses",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("entities", sa.Text(), nullable=False),
        sa.Column("numbers", sa.Text(), nullable=False),
        sa.Column("places", sa.Text(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name="fk_item_analyses_item_id_items", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", name="pk_item_analyses"),
    )
    op.create_index("ix_item_analyses_waiting", "item_analyses", ["waiting"])
    op.create_table(
        "story_apart",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_apart_story_id_stories", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["other_id"], ["stories.id"], name="fk_story_apart_other_id_stories", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("story_id", "other_id", name="pk_story_apart"),
    )
    with op.batch_alter_table("stories") as batch:
        batch.add_column(sa.Column("state", sa.Text(), nullable=True))
        batch.add_column(sa.Column("centre", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("vectors", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch.create_index("ix_stories_merged_into", ["merged_into"])
        batch.drop_column("profile")
    op.drop_index("ix_story_keys_key_last_published", table_name="story_keys")
    op.drop_table("story_keys")
    with op.batch_alter_table("story_search") as batch:
        batch.drop_column("sources")
    _copy_source_titles()


def _copy_source_titles() -> None:
    """Stale analyses holding only the search title, for every item that is a story's source."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, title FROM items WHERE story_id IS NOT NULL")).all()
    table = sa.table(
        "item_analyses", *(sa.column(name) for name in (
            "item_id", "version", "language", "text", "facts", "entities", "numbers", "places", "vector",
            "search_title", "waiting",
        ))
    )
    records = [
        {
            "item_id": item_id, "version": "", "language": "und", "text": "", "facts": "{}", "entities": "[]",
            "numbers": "[]", "places": "[]", "vector": b"",
            "search_title": unicodedata.normalize("NFKC", title or "").lower(), "waiting": False,
        }
        for item_id, title in rows
    ]
    if records:
        op.bulk_insert(table, records)


def downgrade() -> None:
    op.create_table(
        "story_keys",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("last_published", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_keys_story_id_stories", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", "story_id", name="pk_story_keys"),
    )
    op.create_index("ix_story_keys_key_last_published", "story_keys", ["key", "last_published"])
    with op.batch_alter_table("story_search") as batch:
        batch.add_column(sa.Column("sources", sa.Text(), server_default="", nullable=False))
    with op.batch_alter_table("stories") as batch:
        batch.add_column(sa.Column("profile", sa.Text(), server_default="{}", nullable=False))
        batch.drop_index("ix_stories_merged_into")
        batch.drop_column("merged_into")
        batch.drop_column("vectors")
        batch.drop_column("centre")
        batch.drop_column("state")
    op.drop_table("story_apart")
    op.drop_index("ix_item_analyses_waiting", table_name="item_analyses")
    op.drop_table("item_analyses")
