"""SQLAlchemy ORM models. Rows stay inside bot.storage; repositories turn them into domain records."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Explicit constraint names: Alembic can only drop or alter a constraint it can name, and SQLite's
# batch mode rebuilds tables by name. The migrations spell out the same names by hand.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns aware UTC datetimes; naive ones are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive datetime has no defined instant; guessing would shift times by hours silently.
            raise ValueError(f"naive datetime {value.isoformat()} given to the database; pass an aware one")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite keeps text without an offset; since every stored value is UTC, text order is time order.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        # PostgreSQL answers in the session's time zone, which need not be UTC.
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class FeedRow(Base):
    """A feed and its polling state: `config_url` is what feeds.yaml says, `url` follows redirects."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    config_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(Text)
    next_check_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    error_count: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    malformed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The worker that claimed the feed to poll it, and the next check the claim set (see FeedRepository.due).
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ItemRow(Base):
    """One stored feed entry. `link` is canonical and unique across feeds: the same article is stored once.

    An entry without a usable link has NULL there, never '': NULLs are distinct under a unique constraint
    (SQLite and PostgreSQL alike), so linkless entries do not collide; they are told apart by guid and title.
    The guid is not unique in its feed: some feeds give one guid to different articles (see find_duplicate).
    """

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("link"),
        # Serves the "same guid in the same feed" duplicate rule.
        Index("ix_items_feed_id_guid", "feed_id", "guid"),
        # Serves the "same title from the same outlet" duplicate rule.
        Index("ix_items_outlet_title_key", "outlet", "title_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"))
    outlet: Mapped[str] = mapped_column(String(200))
    guid: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    title_key: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_estimated: Mapped[bool] = mapped_column(Boolean)
    # The story this item joined. No foreign key: adding one to an existing SQLite table means rebuilding
    # it, and the pipeline always writes both in one transaction.
    story_id: Mapped[int | None] = mapped_column(Integer, index=True)


class ItemTopicRow(Base):
    """An item's membership in one topic."""

    __tablename__ = "item_topics"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class ItemAnalysisRow(Base):
    """What the story step read in one matched item, made once at ingest (bot.stories.analyse).

    `version` names the model and gazetteer it was made with: a stale one is made again when it is next
    needed. Facts, entities, numbers, places and organisations are JSON text read and written whole; `vector`
    is the sentence vector as float16 bytes; `search_title` is the title as /search compares it. `waiting` marks
    the items the story step has not placed yet: it finds them by this index, not by scanning items.
    """

    __tablename__ = "item_analyses"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text)
    entities: Mapped[str] = mapped_column(Text)
    numbers: Mapped[str] = mapped_column(Text)
    places: Mapped[str] = mapped_column(Text)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    search_title: Mapped[str] = mapped_column(Text)
    waiting: Mapped[bool] = mapped_column(Boolean, index=True)
    organisations: Mapped[str] = mapped_column(Text, server_default="[]")


class StoryRow(Base):
    """A story: reports of one event grouped together, with what subscribers are told about it.

    Facts, actions, topics and the step's state are JSON text: they are read and written whole, never
    queried by their parts, and their shape belongs to the pure core (bot.domain, bot.stories). `centre`
    and `vectors` are what a join compares (the sum of all members' vectors; the kept members' vectors),
    bounded whatever the story's size. A story merged into another keeps its row, with `merged_into` set,
    so its old id and its sent alerts lead to the story it became part of.
    """

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16))
    topics: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text)
    actions: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    first_published: Mapped[datetime] = mapped_column(UTCDateTime)
    last_published: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source_count: Mapped[int] = mapped_column(Integer)
    # Bumped whenever what an alert shows changes (a new outlet, new facts): delivery edits sent alerts.
    revision: Mapped[int] = mapped_column(Integer)
    follow_up_of: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str | None] = mapped_column(Text)
    centre: Mapped[bytes | None] = mapped_column(LargeBinary)
    vectors: Mapped[bytes | None] = mapped_column(LargeBinary)
    merged_into: Mapped[int | None] = mapped_column(Integer, index=True)


class StoryApartRow(Base):
    """Two stories an admin split apart (/split): the story step never merges them again."""

    __tablename__ = "story_apart"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)


class StorySearchRow(Base):
    """A story's searchable text, NFKC-normalized and lowercased: its title and summary (replaced when they
    change). Sources' titles are searched in item_analyses.search_title.

    Kept beside the story rather than in it: it is derived, and only the search query reads it.
    """

    __tablename__ = "story_search"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class ChatRow(Base):
    """A Telegram chat the bot serves. `telegram_id` can change (a group upgraded to a supergroup), `id` not."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    digest_hour: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    urgent_only: Mapped[bool] = mapped_column(Boolean)
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    inactive_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str] = mapped_column(String(16), server_default="en")
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SubscriptionRow(Base):
    """A chat's subscription to one topic, with when it began (older stories are not pushed to it)."""

    __tablename__ = "subscriptions"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxRow(Base):
    """One message owed to one chat about one story. The unique key makes a second alert impossible."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("story_id", "chat_id", "kind"),
        # The delivery query: pending rows whose time has come, oldest first.
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_revision: Mapped[int | None] = mapped_column(Integer)
    sent_urgency: Mapped[str | None] = mapped_column(String(16))
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the row was given up on: orders the failures an admin reads (not part of OutboxEntry).
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The worker sending the row, and until when it may: other workers skip the row meanwhile; a worker
    # that dies leaves it to the others once the time has passed.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HeartbeatRow(Base):
    """When a named job (poll, delivery) last finished a round: what a health check reads."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeaseRow(Base):
    """A role only one process may hold at a time (taking Telegram updates), kept while its holder renews it."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
