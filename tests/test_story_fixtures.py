"""The labeled multi-outlet feeds in tests/fixtures/stories: well-formed, fully labeled, labels consistent."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from bot.stories.facts import load_gazetteer

STORIES = Path(__file__).parent / "fixtures" / "stories"
FEED_FILES = sorted(STORIES.glob("*.xml"))
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# The names fact extraction is expected to produce; labels must not invent spellings of their own.
CANONICAL_PLACES = frozenset(
    {
        "Tumen", "Onsong", "Dandong", "Sinuiju", "Jilin", "Liaoning", "Shenyang", "Hyesan", "Musan",
        "Hoeryong", "Kunming", "Yanji", "Hunchun", "China", "North Korea", "South Korea",
    }
)  # fmt: skip
ISO_DAY_OR_MONTH = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
RFC822_WEEKDAY = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ")


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a fixture feed as written: link XML-unescaped, date parsed and timezone-aware."""

    feed: str
    link: str
    guid: str
    title: str
    published: datetime
    text: str


@dataclass(frozen=True, slots=True)
class FixtureFeed:
    """A fixture file read with the standard library: its <title>, language and entries in file order."""

    path: Path
    title: str
    language: str
    entries: tuple[Entry, ...]


def _rss_date(raw: str) -> datetime:
    """An RFC 822 pubDate whose weekday, when given, agrees with its date (a wrong one is a typo)."""
    parsed = parsedate_to_datetime(raw)
    if RFC822_WEEKDAY.match(raw):
        assert raw[:3] == parsed.strftime("%a"), f"weekday does not match date in {raw!r}"
    return parsed


def _text(element: ET.Element, tag: str) -> str:
    """The stripped text of a required child; fails the test when missing or blank."""
    value = (element.findtext(tag) or "").strip()
    assert value, f"<{element.tag}> lacks {tag}"
    return value


def read_feed(path: Path) -> FixtureFeed:
    """Parse one RSS 2.0 or Atom 1.0 fixture file; any malformed XML raises ParseError."""
    root = ET.parse(path).getroot()
    entries: list[Entry] = []
    if root.tag == "rss":
        assert root.get("version") == "2.0"
        channel = root.find("channel")
        assert channel is not None
        title = _text(channel, "title")
        language = _text(channel, "language")
        for item in channel.iter("item"):
            body = " ".join(filter(None, [item.findtext("description"), item.findtext(CONTENT_ENCODED)]))
            entries.append(
                Entry(
                    feed=title,
                    link=_text(item, "link"),
                    guid=_text(item, "guid"),
                    title=_text(item, "title"),
                    published=_rss_date(_text(item, "pubDate")),
                    text=body,
                )
            )
    else:
        assert root.tag == f"{ATOM}feed", f"{path.name}: neither RSS nor Atom"
        title = _text(root, f"{ATOM}title")
        language = root.get(XML_LANG, "")
        for node in root.iter(f"{ATOM}entry"):
            links = [el.get("href", "") for el in node.findall(f"{ATOM}link") if el.get("rel") == "alternate"]
            assert len(links) == 1, f"{path.name}: entry needs exactly one alternate link"
            body = " ".join(filter(None, [node.findtext(f"{ATOM}summary"), node.findtext(f"{ATOM}content")]))
            entries.append(
                Entry(
                    feed=title,
                    link=links[0],
                    guid=_text(node, f"{ATOM}id"),
                    title=_text(node, f"{ATOM}title"),
                    published=datetime.fromisoformat(_text(node, f"{ATOM}published")),
                    text=body,
                )
            )
    return FixtureFeed(path=path, title=title, language=language, entries=tuple(entries))


@pytest.fixture(scope="module")
def feeds() -> list[FixtureFeed]:
    """Every fixture feed, read once for the module."""
    return [read_feed(path) for path in FEED_FILES]


@pytest.fixture(scope="module")
def labels() -> dict[str, Any]:
    """labels.json as loaded."""
    loaded: dict[str, Any] = json.loads((STORIES / "labels.json").read_text(encoding="utf-8"))
    return loaded


def test_folder_holds_six_to_eight_feeds_with_distinct_titles(feeds: list[FixtureFeed]) -> None:
    # `replay` names each file's feed by its <title>, so two equal titles would merge two outlets.
    assert 6 <= len(feeds) <= 8
    titles = [feed.title for feed in feeds]
    assert len(set(titles)) == len(titles)


@pytest.mark.parametrize("path", FEED_FILES, ids=lambda p: p.name)
def test_feed_is_well_formed_with_complete_items(path: Path) -> None:
    feed = read_feed(path)
    assert feed.language, f"{path.name} declares no language"
    assert feed.entries
    for entry in feed.entries:
        assert entry.link.startswith("https://"), entry.link
        assert entry.published.tzinfo is not None, f"{entry.link} has a naive date"
        assert entry.text.strip(), f"{entry.link} has no teaser"


@pytest.mark.parametrize("path", FEED_FILES, ids=lambda p: p.name)
def test_feedparser_reads_every_item_cleanly(path: Path) -> None:
    # The bot reads these files through feedparser: it must see no malformation and the same links.
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, f"{path.name}: {parsed.get('bozo_exception')}"
    assert parsed.feed.title == read_feed(path).title
    assert [e.link for e in parsed.entries] == [e.link for e in read_feed(path).entries]
    assert all(e.get("published_parsed") for e in parsed.entries)


def test_every_item_is_labeled_and_every_label_names_an_item(
    feeds: list[FixtureFeed], labels: dict[str, Any]
) -> None:
    links = {entry.link for feed in feeds for entry in feed.entries}
    assert links - labels["items"].keys() == set(), "items without a label"
    assert labels["items"].keys() - links == set(), "labels for links no feed carries"


def test_every_label_refers_to_an_event_and_every_event_has_items(labels: dict[str, Any]) -> None:
    used = set(labels["items"].values())
    assert used - labels["events"].keys() == set(), "labels naming unknown events"
    assert labels["events"].keys() - used == set(), "events no item reports"


def test_outlet_counts_equal_the_feeds_carrying_each_event(
    feeds: list[FixtureFeed], labels: dict[str, Any]
) -> None:
    carriers: dict[str, set[str]] = defaultdict(set)
    for feed in feeds:
        for entry in feed.entries:
            carriers[labels["items"][entry.link]].add(feed.title)
    counted = {event: len(titles) for event, titles in carriers.items()}
    declared = {event: spec["expected_facts"]["outlets"] for event, spec in labels["events"].items()}
    assert counted == declared


def test_duplicates_are_kept_and_agree(feeds: list[FixtureFeed]) -> None:
    # Dedupe is measured on these: a GUID repeated inside one feed and a link carried by two feeds.
    repeated_guid = False
    for feed in feeds:
        by_guid: dict[str, set[str]] = defaultdict(set)
        for entry in feed.entries:
            by_guid[entry.guid].add(entry.link)
        assert all(len(links) == 1 for links in by_guid.values()), f"{feed.title}: one GUID, two links"
        repeated_guid |= len(by_guid) < len(feed.entries)
    assert repeated_guid
    feeds_per_link: dict[str, set[str]] = defaultdict(set)
    for feed in feeds:
        for entry in feed.entries:
            feeds_per_link[entry.link].add(feed.title)
    assert any(len(titles) > 1 for titles in feeds_per_link.values())


def test_labels_spell_places_and_reporters_as_alerts_do(labels: dict[str, Any]) -> None:
    # An alert shows the gazetteer's canonical names ("South Korea's Ministry of Unification", not the bare
    # "Ministry of Unification", which does not say whose ministry it is); labels use the same spelling.
    names = {entry.name for entry in load_gazetteer().entries}
    for event_id, spec in labels["events"].items():
        facts = spec["expected_facts"]
        assert set(facts["places"]) | set(facts["reporters"]) <= names, event_id


@pytest.mark.parametrize("event_id", sorted(json.loads((STORIES / "labels.json").read_text())["events"]))
def test_event_labels_are_consistent(event_id: str, labels: dict[str, Any]) -> None:
    spec = labels["events"][event_id]
    facts = spec["expected_facts"]
    assert spec["title"]
    assert set(facts["places"]) <= CANONICAL_PLACES
    assert all(ISO_DAY_OR_MONTH.match(day) for day in facts["dates"]), facts["dates"]
    if facts["count_low"] is not None:
        assert 0 < facts["count_low"] <= facts["count_high"]
    if spec["topic"] is None:
        assert spec["urgency"] is None
    else:
        assert spec["urgency"] in {"urgent", "update"}
        assert facts["reporters"] and facts["dates"] and facts["count_low"] is not None
    earlier = spec.get("follow_up_of")
    if earlier is not None:
        assert labels["events"][earlier]["expected_facts"]["dates"][0] < facts["dates"][0]


def test_mass_return_is_told_in_three_languages_with_syndication_clutter(
    feeds: list[FixtureFeed], labels: dict[str, Any]
) -> None:
    # E1 is the benchmark's main case: it must stay multilingual and keep one cluttered syndicated copy.
    e1 = [(feed, e) for feed in feeds for e in feed.entries if labels["items"][e.link] == "E1"]
    assert {feed.language[:2] for feed, _ in e1} == {"en", "ko", "zh"}
    assert any("Support our journalism" in e.text and "via Getty Images" in e.text for _, e in e1)
