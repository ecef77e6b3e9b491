"""A topic's two tiers as a maintainer meets them: keywords, then examples (sentence vectors) behind an anchor.

The examples tier runs the real model (bot/stories/similarity.py); nothing of ours is faked. The items here
are written for these tests, in the shapes feeds give: a title with a teaser, or a search feed's bare title.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import describe, load_config, parse_config
from bot.domain import Feed, Item, Topic
from bot.errors import ConfigError
from bot.ingest.match import CompiledTopic, compile_topics, decide_items, explain_item, match_item, matches

REPO = Path(__file__).resolve().parents[1]
LABELED = REPO / "tests" / "fixtures" / "topics" / "nk_labeled.tsv"
NOW = datetime(2024, 5, 1, tzinfo=UTC)


def item(title: str, teaser: str = "", language: str = "en", n: int = 0) -> Item:
    return Item(
        feed="Wire", outlet="Wire", guid=f"g{n}", link=f"https://wire.example/{n}", title=title, summary=teaser,
        content="", language=language, published=NOW, fetched=NOW,
    )


FEED = Feed(name="Wire", url="https://wire.example/rss", language="en", interval_seconds=900, outlet="Wire")


@pytest.fixture(scope="module")
def nk() -> CompiledTopic:
    config = load_config(REPO / "feeds.yaml")
    return {t.id: t for t in compile_topics(config.topics)}["nk-repatriation"]


def decide(topic: CompiledTopic, *items: Item) -> list[tuple[bool, str, str]]:
    return [(d[0].matched, d[0].tier, d[0].reason) for d in decide_items([topic], items, FEED)]


# --- the examples tier on the default topic --------------------------------------------------------


def test_a_handover_told_without_the_keywords_matches_by_example_with_the_reason(nk: CompiledTopic) -> None:
    report = item("North Korean women caught in Yanji were marched over the bridge and given to the North's guards")
    [(matched, tier, reason)] = decide(nk, report)
    assert not matches(nk, report.text)  # the keywords alone miss it
    assert (matched, tier) == (True, "examples")
    assert reason.startswith("examples: 0.")
    assert "to example '" in reason and "(anchor 'north korea*')" in reason


@pytest.mark.parametrize(
    ("title", "teaser", "language"),
    [
        ("Activists hold vigil at Chinese consulate in Busan for North Korean detainees", "", "en"),
        ("중국 공안에 붙잡힌 탈북민 일가족, 북한 보위부로 넘겨져", "가족들은 서울에서 기자회견을 열었다.", "ko"),
        ("被关押的脱北者恐被交给朝方 家属向联合国求助", "", "zh"),
    ],
)
def test_reports_in_each_language_are_matched(nk: CompiledTopic, title: str, teaser: str, language: str) -> None:
    [(matched, _, reason)] = decide(nk, item(title, teaser, language))
    assert matched, reason


def test_every_labeled_trap_stays_unmatched(nk: CompiledTopic) -> None:
    with LABELED.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r["label"] == "0"]
    assert len(rows) > 150
    traps = [item(r["title"], r["teaser"] or "", r["lang"], n) for n, r in enumerate(rows)]
    fired = [(t.title, d[0].reason) for t, d in zip(traps, decide_items([nk], traps, FEED), strict=True)
             if d[0].matched]
    assert fired == []


@pytest.mark.parametrize(
    "title",
    [
        "North Korea launches two short-range missiles toward the East Sea",
        "North Korea frees detained American tourist, who flies home via Beijing",
        "Remains of 7 US servicemen repatriated from North Korea",
        "Pyongyang's ambassador expelled from Kuala Lumpur",
        "US deports record number of migrants to Honduras",
        "Deportivo beat Racing 2-0 to climb the table",
    ],
)
def test_traps_named_in_the_issue_stay_unmatched(nk: CompiledTopic, title: str) -> None:
    [(matched, _, reason)] = decide(nk, item(title))
    assert not matched, reason


def test_an_item_without_an_anchor_term_is_not_embedded(nk: CompiledTopic) -> None:
    [(matched, tier, reason)] = decide(nk, item("Families plead with Beijing to free relatives held in jail"))
    assert (matched, tier) == (False, "")
    assert reason.endswith("no anchor term")


def test_the_default_topic_anchors_on_every_term_that_names_north_korea() -> None:
    # feeds.yaml promises it: an item the keywords refuse reaches the examples when it names North Korea in
    # any of group 1's ways ("nk" alone is left out: two letters name too much else).
    topic = {t.id: t for t in load_config(REPO / "feeds.yaml").topics}["nk-repatriation"]
    assert set(topic.require[0]) - set(topic.anchor) == {"nk"}


def test_exclusions_still_apply_to_the_examples_tier(nk: CompiledTopic) -> None:
    [(matched, _, reason)] = decide(nk, item("North Korea hands over soldiers' remains to UN Command"))
    assert not matched
    assert reason == "excluded: \"soldiers' remains\" fired on \"soldiers' remains\""


def test_explain_item_shows_the_anchor_the_closest_examples_and_the_threshold(nk: CompiledTopic) -> None:
    text = explain_item(nk, item("Seoul asks Beijing to let North Koreans held in Jilin travel south"))
    lines = text.splitlines()
    assert lines[0].startswith("nk-repatriation: MATCH by examples: examples: 0.")
    assert "  require[0]: 'north korea*' matched 'north koreans'" in lines
    assert any(line.startswith("  require[1]: nothing matched (terms: repatriat*, deport, ") for line in lines)
    assert "  anchor: 'north korea*' matched 'north koreans'" in lines
    assert sum(1 for line in lines if line.startswith("  example 0.")) == 3
    assert any(line.startswith("  closest near-miss 0.") for line in lines)
    assert lines[-1].startswith("  examples tier: needs 0.")


# --- a topic without examples behaves as before ----------------------------------------------------

KEYWORDS_ONLY = Topic(id="fruit", name="Fruit", require=(("apple*", "pear"), ("pie*",)), exclude=("recipe",))


def test_a_topic_without_examples_is_the_keyword_rule_alone() -> None:
    [topic] = compile_topics([KEYWORDS_ONLY])
    assert topic.semantic is None
    texts = ["Apple pies at the fair", "Pear harvest", "Apple pie recipe", "Pears and pies"]
    items = [item(t, n=n) for n, t in enumerate(texts)]
    assert [match_item([topic], i, FEED) for i in items] == [("fruit",), (), (), ()]
    assert [matches(topic, t) for t in texts] == [True, False, False, False]
    assert decide(topic, *items) == [
        (True, "keywords", "keywords: apple* + pie*"),
        (False, "", "keywords: require[1] missing"),
        (False, "", "excluded: 'recipe' fired on 'recipe'"),
        (False, "", "keywords: require[0] missing"),
    ]


def test_examples_without_anchor_are_refused_by_the_matcher() -> None:
    with pytest.raises(ValueError, match="examples need an anchor"):
        compile_topics([replace(KEYWORDS_ONLY, examples=(("en", "apple pie"),))])


# --- feeds.yaml: validation and check-config --------------------------------------------------------

BASE = """\
topics:
  - id: nk
    name: North Korea
    require:
      - [north korea*]
      - [repatriat*]
{extra}feeds:
  - name: One
    url: https://one.example.org/rss
    language: en
"""


def problems(extra: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE.format(extra=extra), "feeds.yaml")
    return caught.value.problems


def test_examples_and_their_settings_are_read() -> None:
    config = parse_config(BASE.format(extra=(
        "    anchor: [north korea*, 북한]\n"
        "    examples:\n"
        "      en: [China hands escapees to the North]\n"
        "      ko: [중국이 탈북민을 북송했다]\n"
        "    near_misses:\n"
        "      en: [North Korea fires a missile]\n"
        "    threshold: 0.6\n"
        "    margin: 0.05\n"
    )), "feeds.yaml")
    topic = config.topics[0]
    assert topic.examples == (("en", "China hands escapees to the North"), ("ko", "중국이 탈북민을 북송했다"))
    assert topic.near_misses == (("en", "North Korea fires a missile"),)
    assert (topic.anchor, topic.threshold, topic.margin) == (("north korea*", "북한"), 0.6, 0.05)
    assert "    tiers: keywords (2 groups, 0 exclusions), then examples (2: en 1 ko 1; 1 near-misses (en 1); " \
        "anchor: 2 terms; threshold 0.60, margin 0.05)" in describe(config)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    examples:\n      en: [China hands escapees to the North]\n",
         "feeds.yaml:7: topics[0].examples: examples need an anchor: terms one of which an item must name"),
        ("    anchor: [north korea*]\n    examples:\n      fr: [La Chine renvoie des réfugiés]\n",
         "feeds.yaml:8: topics[0].examples: unknown language 'fr'; use en, ko or zh"),
        ("    anchor: [north korea*]\n    examples:\n      en:\n        - China hands escapees to the North\n"
         "        - ''\n",
         "feeds.yaml:11: topics[0].examples.en[1]: must not be empty"),
        ("    anchor: [north korea*]\n    examples:\n      en: []\n",
         "feeds.yaml:8: topics[0].examples: needs at least one text"),
        ("    anchor: ['*']\n    examples:\n      en: [China hands escapees to the North]\n",
         "feeds.yaml:7: topics[0].anchor[0]: term '*' has no letters or digits"),
        ("    anchor: [north korea*]\n    examples:\n      en: [a]\n    threshold: 1.5\n",
         "feeds.yaml:10: topics[0].threshold: must be less than 1"),
        ("    near_misses:\n      en: [North Korea fires a missile]\n",
         "feeds.yaml:7: topics[0].near_misses: is only used with examples; add examples or remove it"),
    ],
)
def test_bad_examples_are_reported_with_the_line(extra: str, expected: str) -> None:
    found = problems(extra)
    assert any(p.startswith(expected) for p in found), found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)


def test_check_config_lists_each_topics_tiers() -> None:
    result = run("check-config", "--config", str(REPO / "feeds.yaml"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    nk_line = lines.index(next(line for line in lines if line.startswith("  nk-repatriation ")))
    assert lines[nk_line + 1].startswith("    tiers: keywords (3 groups, ")
    assert ", then examples (" in lines[nk_line + 1] and "anchor: " in lines[nk_line + 1]
    refugee = lines.index(next(line for line in lines if line.startswith("  refugee-returns ")))
    assert lines[refugee + 1] == "    tiers: keywords (2 groups, 0 exclusions)"


FEED_XML = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Border Wire</title><link>https://border.example/</link>
<description>test</description><language>en</language>
<item><title>Seoul asks Beijing to let North Koreans held in Jilin travel south</title>
<link>https://border.example/1</link><guid>1</guid><pubDate>Mon, 29 Apr 2024 10:00:00 GMT</pubDate>
<description>The minister raised the eleven people held in Yanji with his counterpart.</description></item>
<item><title>China forcibly repatriates 12 North Korean defectors</title>
<link>https://border.example/2</link><guid>2</guid><pubDate>Mon, 29 Apr 2024 11:00:00 GMT</pubDate>
<description>Rights groups said the defectors were sent back on Friday.</description></item>
<item><title>North Korea test-fires ballistic missile into the sea</title>
<link>https://border.example/3</link><guid>3</guid><pubDate>Mon, 29 Apr 2024 12:00:00 GMT</pubDate>
<description>It flew about 500 km, Seoul's military said.</description></item>
</channel></rss>
"""


def test_replay_says_which_rule_took_each_item_and_explains_it(tmp_path: Path) -> None:
    (tmp_path / "border.xml").write_text(FEED_XML, encoding="utf-8")
    result = run("replay", "--explain", "--config", str(REPO / "feeds.yaml"), str(tmp_path))
    assert result.returncode == 0, result.stderr
    items = {r["link"]: r for r in map(json.loads, result.stdout.splitlines()) if r["type"] == "item"}
    handover, keyword, missile = (items[f"https://border.example/{n}"] for n in (1, 2, 3))
    assert handover["topics"] == ["nk-repatriation"]
    assert handover["match"]["nk-repatriation"].startswith("examples: 0.")
    assert keyword["match"]["nk-repatriation"] == "keywords: north korea* + repatriat* + defect*"
    assert missile["topics"] == []
    assert missile["match"]["nk-repatriation"].startswith("keywords: require[1] missing; examples: 0.")
    explained = handover["explain"]["nk-repatriation"]
    assert explained[0].startswith("nk-repatriation: MATCH by examples")
    assert any(line.startswith("  example 0.") for line in explained)
    assert missile["explain"]["refugee-returns"][0].startswith("refugee-returns: no match")
