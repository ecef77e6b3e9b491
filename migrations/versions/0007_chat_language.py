"""chat language, forum topic and pause: chats.language, chats.thread_id, chats.paused_until

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-30

Written by hand; tests/test_storage.py checks the models and the migrations agree. Existing chats get
English, the language every reply was in before this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("language", sa.String(length=16), server_default="en", nullable=False))
        batch.add_column(sa.Column("thread_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("paused_until")
        batch.drop_column("thread_id")
        batch.drop_column("language")
