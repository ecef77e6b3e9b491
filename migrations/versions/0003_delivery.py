"""delivery: chats, their topic subscriptions, the outbox, job heartbeats and the stories' search text

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Written by hand; tests/test_storage.py checks the models and the migrations agree.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)


def _search_text(parts: Sequence[str]) -> str:
    """The same normalization as bot.storage.stories.search_text, copied so this revision never changes."""
    return unicodedata.normalize("NFKC", "\n".join(p for p in parts if p)).lower()


def upgrade() -> None:
    op.create_table(
        "story_search",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_search_story_id_stories", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("story_id", name="pk_story_search"),
    )
    op.create_table(
        "chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("urgent_only", sa.Boolean(), nullable=False),
        sa.Column("quiet_start", sa.Integer(), nullable=True),
        sa.Column("quiet_end", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("inactive_reason", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("subscribed_at", Timestamp, nullable=True),
        sa.Column("last_digest_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_chats"),
        sa.UniqueConstraint("telegram_id", name="uq_chats_telegram_id"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name="fk_subscriptions_chat_id_chats", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("chat_id", "topic", name="pk_subscriptions"),
    )
    op.create_index("ix_subscriptions_topic", "subscriptions", ["topic"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.Column("sent_revision", sa.Integer(), nullable=True),
        sa.Column("sent_urgency", sa.String(16), nullable=True),
        sa.Column("edited_at", Timestamp, nullable=True),
        sa.Column("failed_at", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], name="fk_outbox_story_id_stories", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name="fk_outbox_chat_id_chats", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("story_id", "chat_id", "kind", name="uq_outbox_story_id_chat_id_kind"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_chat_id", "outbox", ["chat_id"])
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_heartbeats"),
    )
    _fill_story_search()


def _fill_story_search() -> None:
    """Give the stories stored before this revision their search text (title, summary, source titles)."""
    bind = op.get_bind()
    stories = sa.table("stories", sa.column("id", sa.Integer()), sa.column("title", sa.Text()),
                       sa.column("summary", sa.Text()))
    items = sa.table("items", sa.column("id", sa.Integer()), sa.column("story_id", sa.Integer()),
                     sa.column("title", sa.Text()))
    search = sa.table("story_search", sa.column("story_id", sa.Integer()), sa.column("text", sa.Text()),
                      sa.column("sources", sa.Text()))
    titles: dict[Any, list[str]] = {}
    for story_id, title in bind.execute(
        sa.select(items.c.story_id, items.c.title).where(items.c.story_id.is_not(None)).order_by(items.c.id)
    ):
        lines = titles.setdefault(story_id, [])
        line = _search_text([str(title)])
        if line and line not in lines:
            lines.append(line)
    rows = [
        {
            "story_id": story_id,
            "text": _search_text([str(title), str(summary)]),
            "sources": "\n".join(titles.get(story_id, [])),
        }
        for story_id, title, summary in bind.execute(sa.select(stories.c.id, stories.c.title, stories.c.summary))
    ]
    if rows:
        bind.execute(sa.insert(search), rows)


def downgrade() -> None:
    op.drop_table("heartbeats")
    op.drop_index("ix_outbox_chat_id", table_name="outbox")
    op.drop_index("ix_outbox_status_next_attempt_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_subscriptions_topic", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("chats")
    op.drop_table("story_search")
