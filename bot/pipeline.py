"""One polling cycle, read top to bottom: due feeds, fetch, parse, then per feed one transaction (dedupe,
match, store, analyse), then the cycle's reports placed into stories together, with their alerts owed."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.config import Config
from bot.domain import Analysis, Feed, FeedState, Item, ParsedFeed
from bot.errors import FeedError, FeedGone
from bot.ingest.extract import main_text
from bot.ingest.fetch import Fetched, Fetcher, FetchLimits
from bot.ingest.match import CompiledTopic, compile_topics, match_items
from bot.ingest.parse import normalize_title, parse_feed
from bot.ingest.schedule import next_check_after_failure, next_check_after_success
from bot.storage.db import Database
from bot.storage.feeds import Claim
from bot.storage.items import ItemRejected, Original
from bot.storage.unit_of_work import UnitOfWork
from bot.stories.facts import Gazetteer
from bot.stories.step import StepReport, StoryRules, analyse_items, analyse_new, place_pending

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Article pages fetched per feed per cycle for full_text feeds: a first poll of a long feed must not
# turn into a crawl; items beyond this keep their teaser.
MAX_FULL_TEXT_PAGES = 20
# Quiet feeds' bookkeeping is written this many at a time (see Poller._note_quiet).
QUIET_BATCH = 200
# How early a feed may be polled before its next check: bench/latency.py measured 63 s periods for 60 s
# feeds under a 3 s tick without it (each check landed just after a tick).
DUE_SLACK = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class IngestedItem:
    """What became of one parsed item: its topics, the stored item it repeats (if any: its link, or its guid
    when it has none) and why it counts as a repeat, or why the database refused it (`error`)."""

    item: Item
    topics: tuple[str, ...]
    duplicate_of: str | None
    item_id: int | None
    story_id: int | None = None  # a repeat's story; a new item gets its story when the cycle's reports are placed
    duplicate_reason: str | None = None
    error: str | None = None
    original_id: int | None = None  # the stored item a repeat repeats


@dataclass(frozen=True, slots=True)
class Prepared:
    """What is worked out for a feed's items before its store transaction: each item's topics, and the
    analyses of the matched items not stored yet (their vectors above all), so that the database is not
    held while the model reads them."""

    topics: tuple[tuple[str, ...], ...]
    analysed: Mapping[Item, Analysis]


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """One feed's result in a cycle, as the poll table shows it."""

    feed: str
    status: str  # ok | not-modified | unchanged | error | disabled
    new_items: int = 0
    matched_items: int = 0
    duplicates: int = 0
    error: str | None = None
    malformed: str | None = None


@dataclass(frozen=True, slots=True)
class CycleReport:
    """Every due feed's outcome, in the order the feeds finished, and what the story step did."""

    outcomes: tuple[FeedOutcome, ...]
    stories: StepReport = field(default_factory=StepReport)

    @property
    def new_stories(self) -> int:
        return len(self.stories.created)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if o.status in ("error", "disabled"))


def ingest_items(
    uow: UnitOfWork,
    items: Sequence[Item],
    feed: Feed,
    topics: Sequence[CompiledTopic],
    config: Config,
    rules: StoryRules,
    now: datetime,
    prepared: Prepared | None = None,
) -> list[IngestedItem]:
    """Match each item to topics, store it unless it repeats a stored item, and analyse the matched ones
    (`prepared` holds the topics and analyses worked out before the transaction).

    The stored dedupe keys of the whole batch are read at once: only an item one of them names gets the exact
    per-item check. Items that match no topic are inserted together at the end (or earlier, when a later item
    of the batch might repeat one of them). A repeat that matches a topic when its stored original did not
    replaces it and goes on to the story step: dedupe never hides an on-topic report. An item the database
    refuses is left out (with its reason) and the others are stored. Matched items wait, analysed, for the
    cycle's story step (`place_stories`).
    """
    keys = [normalize_title(item.title) for item in items]
    known = uow.items.known_keys(
        feed_name=feed.name, outlet=feed.outlet, guids=[i.guid for i in items], links=[i.link for i in items],
        title_keys=keys,
    )
    guids, links, titles = set(known.guids), set(known.links), set(known.title_keys)
    results: list[IngestedItem | None] = []
    matched_new: list[tuple[int, Item]] = []
    pending: list[tuple[int, Item, str]] = []  # unmatched new items not inserted yet: (index in results, item, key)

    def flush() -> None:
        ids = uow.items.add_many([(replace(item, summary="", content=""), key) for _, item, key in pending])
        for (index, item, _), stored in zip(pending, ids, strict=True):
            if isinstance(stored, ItemRejected):
                results[index] = _rejected(feed, item, (), stored)
            else:
                results[index] = IngestedItem(item, (), None, stored)
        pending.clear()

    # One call for the batch: items that reach a topic's semantic tier are embedded together.
    matches = prepared.topics if prepared is not None else match_items(topics, items, feed)
    for item, key, matched in zip(items, keys, matches, strict=True):
        named = item.guid in guids or (item.link and item.link in links) or (key and key in titles)
        if named and pending:
            flush()  # the item it repeats may be one of the batch's, still waiting to be inserted
        original = find_original(uow, item, feed, config, key) if named else None
        if original is not None and not (matched and not original.on_topic):
            results.append(_duplicate(feed, item, matched, original))
            continue
        guids.add(item.guid)
        links.add(item.link)
        titles.add(key)
        if not matched:
            # Kept only as a dedupe key: its text is never read again.
            pending.append((len(results), item, key))
            results.append(None)
            continue
        try:
            if original is None:
                item_id = uow.items.add(item, title_key=key, topics=matched)
            else:
                # Its stored copy matched nothing (a teaser, an earlier version) and was kept without text.
                item_id = uow.items.upgrade(original.id, item, title_key=key, topics=matched)
        except ItemRejected as exc:
            results.append(_rejected(feed, item, matched, exc))
            continue
        matched_new.append((item_id, item))
        results.append(IngestedItem(item, matched, None, item_id))
    flush()
    analyse_new(uow, matched_new, rules, prepared.analysed if prepared is not None else None)
    return [r for r in results if r is not None]


def place_stories(uow: UnitOfWork, rules: StoryRules, now: datetime) -> StepReport:
    """Place the stored reports waiting for a story, together, in published-time order; the outbox rows go
    in with the stories, in this transaction: a story is never stored unannounced."""
    uow.feeds.lock_stories()  # other workers on the database place one batch at a time too
    return place_pending(uow, rules, now)


def find_original(uow: UnitOfWork, item: Item, feed: Feed, config: Config, title_key: str) -> Original | None:
    """The stored item `item` repeats (same GUID in the feed, same link, same outlet title), or None."""
    since = item.published - timedelta(days=config.defaults.dedupe_window_days)
    return uow.items.find_duplicate(item, feed_name=feed.name, title_key=title_key, since=since)


def _duplicate(feed: Feed, item: Item, matched: tuple[str, ...], original: Original) -> IngestedItem:
    """A repeat that is not stored, logged so an operator can see what was dropped and why."""
    shown = original.link or original.guid
    log.info("feed %r: duplicate dropped: %s (%s as %s)", feed.name, item.link or item.guid, original.reason, shown)
    return IngestedItem(
        item, matched, shown, None, original.story_id, duplicate_reason=original.reason, original_id=original.id
    )


def _rejected(feed: Feed, item: Item, matched: tuple[str, ...], exc: ItemRejected) -> IngestedItem:
    """An item the database refused: logged loudly (it is a bug to fix), while its feed's other items go on."""
    log.error("feed %r: item %s not stored: %s", feed.name, item.link or item.guid, exc.reason)
    return IngestedItem(item, matched, None, None, error=exc.reason)


def fetch_limits(config: Config, user_agent: str) -> FetchLimits:
    """The fetcher's limits from feeds.yaml's defaults, with the User-Agent from the environment."""
    return FetchLimits(
        timeout_seconds=config.defaults.timeout_seconds,
        max_bytes=config.defaults.max_body_bytes,
        max_redirects=config.defaults.max_redirects,
        user_agent=user_agent,
    )


def story_rules(config: Config, gazetteer: Gazetteer) -> StoryRules:
    """The story step's settings from the configuration."""
    return StoryRules(
        gazetteer=gazetteer,
        actions=config.actions,
        window=timedelta(days=config.defaults.story_window_days),
        followup_window=timedelta(days=config.defaults.followup_window_days),
    )


def _body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _is_html(content_type: str) -> bool:
    """Whether a Content-Type header names an HTML page (parameters such as charset ignored)."""
    return content_type.split(";", 1)[0].strip().lower() in ("text/html", "application/xhtml+xml")


class Poller:
    """Runs polling cycles over the configured feeds; holds only what was passed in."""

    def __init__(self, config: Config, db: Database, fetcher: Fetcher, clock: Clock, gazetteer: Gazetteer) -> None:
        self.config = config
        self.rules = story_rules(config, gazetteer)
        self.db = db
        self.fetcher = fetcher
        self.clock = clock
        self.topics = compile_topics(config.topics)
        self._feeds = {f.name: f for f in config.feeds}
        self._store_lock = asyncio.Lock()
        self._quiet: list[Callable[[UnitOfWork], None]] = []

    async def run_cycle(
        self, progress: Callable[[FeedOutcome], None] | None = None, *, claim: Claim | None = None
    ) -> CycleReport:
        """Poll every due feed (bounded concurrency inside the fetcher); one feed's failure never stops others.

        `claim`: take a batch of due feeds and claim them, so other workers on the same database poll the
        others (the bot's `run` on PostgreSQL)."""
        # The sentence model loads once per process, before any fetch is in flight: loading holds the
        # interpreter for about a second, which would count against the feeds' timeouts.
        await asyncio.to_thread(self.rules.embedder.load)
        with self.db.unit_of_work() as uow:
            # Feeds falling due within DUE_SLACK are taken now: a scheduler ticking every few seconds would
            # otherwise find a feed due a few milliseconds after its tick and poll it a whole tick late.
            due = uow.feeds.due(self.clock() + DUE_SLACK, claim=claim, among=self._feeds)
        outcomes: list[FeedOutcome] = []

        async def one(state: FeedState) -> None:
            outcome = await self.poll_feed(self._feeds[state.name], state)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)

        try:
            await asyncio.gather(*(one(s) for s in due))
        finally:
            await self._flush_quiet()
        # After every feed of the cycle is stored: the same reports give the same stories whatever order
        # the feeds answered in.
        stories = await asyncio.to_thread(self._place_stories)
        return CycleReport(tuple(outcomes), stories)

    def _place_stories(self) -> StepReport:
        with self.db.unit_of_work() as uow:
            return place_stories(uow, self.rules, self.clock())

    async def _note_quiet(self, write: Callable[[UnitOfWork], None]) -> None:
        """Queue the bookkeeping of a feed that brought nothing new (304 or the same body); written in batches.

        One transaction per quiet feed made a steady cycle of 2,000 feeds mostly commits (bench/poll_scale.py).
        Losing a batch to a crash costs nothing: those feeds are simply polled again.
        """
        self._quiet.append(write)
        if len(self._quiet) >= QUIET_BATCH:
            await self._flush_quiet()

    async def _flush_quiet(self) -> None:
        batch, self._quiet = self._quiet, []
        if batch:
            await asyncio.to_thread(self._write_quiet, batch)

    def _write_quiet(self, batch: Sequence[Callable[[UnitOfWork], None]]) -> None:
        with self.db.unit_of_work() as uow:
            for write in batch:
                write(uow)

    async def poll_feed(self, feed: Feed, state: FeedState) -> FeedOutcome:
        """Fetch, parse (then fetch article pages, for a full_text feed) and store one feed, recording the result
        on the feed's row (a quiet feed's row is written in a batch that run_cycle flushes before it returns)."""
        started = self.clock()
        try:
            fetched = await self.fetcher.fetch(feed.name, state.url, state.etag, state.last_modified)
        except FeedError as exc:
            return self._record_failure(feed, state, exc)
        now = self.clock()
        new_url = fetched.final_url if fetched.permanent_redirect and fetched.final_url != state.url else None
        # The next check counts from when this one began, so a slow server does not stretch the interval.
        next_at = next_check_after_success(started, feed.interval_seconds)
        if fetched.not_modified:
            await self._note_quiet(
                lambda uow: uow.feeds.record_not_modified(feed.name, now, next_check_at=next_at, new_url=new_url)
            )
            return FeedOutcome(feed.name, "not-modified")
        body_hash = _body_hash(fetched.body)
        if body_hash == state.body_hash:
            await self._note_quiet(
                lambda uow: uow.feeds.record_fetched(
                    feed.name, now, next_check_at=next_at, etag=fetched.etag, last_modified=fetched.last_modified,
                    body_hash=body_hash, new_url=new_url, malformed=state.malformed,
                )
            )
            return FeedOutcome(feed.name, "unchanged")
        try:
            # Parsing and storing are CPU and disk work: a thread keeps the other feeds' fetches moving.
            parsed = await asyncio.to_thread(self._parse, feed, fetched, now)
            if feed.full_text:
                parsed = replace(parsed, items=await self._with_full_text(feed, parsed.items))
            # Topics and the new reports' analyses (their vectors above all) are worked out before the store
            # transaction, so the database is not held while the model reads them.
            prepared = await asyncio.to_thread(self._prepare, feed, parsed.items)
            # One feed stores at a time: dedupe reads the items other feeds write.
            async with self._store_lock:
                results = await asyncio.to_thread(
                    self._store, feed, parsed, fetched, now, next_at, body_hash, new_url, prepared
                )
        except FeedError as exc:
            return self._record_failure(feed, state, exc)
        except Exception as exc:
            # A bug must not stop the other feeds, but it is logged with its traceback and recorded. Only the
            # error's type is recorded: /sources shows the reason to anyone, and a database error's text holds SQL.
            log.exception("feed %r: unexpected error while processing", feed.name)
            reason = f"{type(exc).__name__} (details in the bot's log)"
            return self._record_failure(feed, state, FeedError(feed.name, state.url, "internal-error", reason))
        new = [r for r in results if r.item_id is not None]
        if parsed.malformed:
            log.warning("feed %r: malformed but usable: %s", feed.name, parsed.malformed)
        return FeedOutcome(
            feed.name, "ok", new_items=len(new), matched_items=sum(1 for r in new if r.topics),
            duplicates=len(results) - len(new), malformed=parsed.malformed,
        )

    def _parse(self, feed: Feed, fetched: Fetched, now: datetime) -> ParsedFeed:
        """The feed body's items (raises FeedError when the body is no feed at all)."""
        return parse_feed(
            fetched.body, feed=feed, fetched=now, base_url=fetched.final_url, content_type=fetched.content_type
        )

    async def _with_full_text(self, feed: Feed, items: tuple[Item, ...]) -> tuple[Item, ...]:
        """`items` with each new one's article text as its content (at most MAX_FULL_TEXT_PAGES pages
        fetched); an item whose page fails keeps the feed's teaser. Never raises FeedError."""
        unstored = await asyncio.to_thread(self._unstored, feed, items)
        wanted = [item for item in unstored if item.link][:MAX_FULL_TEXT_PAGES]
        fuller = await asyncio.gather(*(self._full_text(feed, item) for item in wanted))
        replaced = dict(zip(wanted, fuller, strict=True))
        return tuple(replaced.get(item, item) for item in items)

    def _unstored(self, feed: Feed, items: Sequence[Item]) -> list[Item]:
        """The items no stored item repeats, by the same test ingest_items makes: only they are worth a page."""
        if not items:
            return []
        keys = [normalize_title(item.title) for item in items]
        with self.db.unit_of_work() as uow:
            # As in ingest_items: the batch's stored keys at once; the exact check only for items they name.
            known = uow.items.known_keys(
                feed_name=feed.name, outlet=feed.outlet, guids=[i.guid for i in items],
                links=[i.link for i in items], title_keys=keys,
            )
            return [
                item for item, key in zip(items, keys, strict=True)
                if not (item.guid in known.guids or (item.link and item.link in known.links) or key in known.title_keys)
                or find_original(uow, item, feed, self.config, key) is None
            ]

    async def _full_text(self, feed: Feed, item: Item) -> Item:
        """`item` with its article page's main text as content, or `item` unchanged when that fails."""
        try:
            page, content_type = await self.fetcher.fetch_page(item.link)
        except FeedError as exc:
            log.warning("feed %r: article %s not fetched (%s); keeping the teaser", feed.name, item.link, exc.reason)
            return item
        if content_type is not None and not _is_html(content_type):
            log.warning("feed %r: article %s is %s, not HTML; keeping the teaser", feed.name, item.link, content_type)
            return item
        # Extraction parses a whole page: CPU work, kept off the event loop like feed parsing.
        text = await asyncio.to_thread(main_text, page, item.link)
        if text is None:
            log.warning("feed %r: no article text found at %s; keeping the teaser", feed.name, item.link)
            return item
        # A feed that already ships the full article keeps it: the extractor may miss a paragraph.
        return replace(item, content=text) if len(text) > len(item.content) else item

    def _prepare(self, feed: Feed, items: Sequence[Item]) -> Prepared:
        """Each item's topics, and the analyses of the matched items not stored yet."""
        topics = tuple(match_items(self.topics, items, feed))
        matched = [item for item, found in zip(items, topics, strict=True) if found]
        return Prepared(topics, analyse_items(self._unstored(feed, matched), self.rules) if matched else {})

    def _store(
        self, feed: Feed, parsed: ParsedFeed, fetched: Fetched, now: datetime, next_at: datetime, body_hash: str,
        new_url: str | None, prepared: Prepared,
    ) -> list[IngestedItem]:
        """Store the parsed items and the feed's new state in one transaction."""
        with self.db.unit_of_work() as uow:
            uow.feeds.lock_stories()  # other workers on the database store one at a time too (dedupe)
            results = ingest_items(uow, parsed.items, feed, self.topics, self.config, self.rules, now, prepared)
            uow.feeds.record_fetched(
                feed.name, now, next_check_at=next_at, etag=fetched.etag,
                last_modified=fetched.last_modified, body_hash=body_hash, new_url=new_url,
                malformed=parsed.malformed,
            )
        return results

    def _record_failure(self, feed: Feed, state: FeedState, exc: FeedError) -> FeedOutcome:
        now = self.clock()
        errors = state.error_count + 1
        next_at = next_check_after_failure(
            now, feed.interval_seconds, errors, self.config.defaults.max_backoff_seconds
        )
        gone = isinstance(exc, FeedGone)
        with self.db.unit_of_work() as uow:
            uow.feeds.record_failure(feed.name, now, reason=exc.reason, next_check_at=next_at, disable=gone)
        log.warning("feed %r: %s (failure %d)", feed.name, exc.reason, errors)
        return FeedOutcome(feed.name, "disabled" if gone else "error", error=exc.reason)
