"""feeds.yaml validation (what a maintainer sees for each mistake), durations and sizes, and settings."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot import __version__
from bot.config import (
    Defaults,
    describe,
    format_duration,
    load_config,
    load_settings,
    parse_config,
    parse_duration,
    parse_size,
)
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent

# A small valid file; the bad files below each break one thing in a copy of it.
GOOD = """\
topics:
  - id: nk
    name: North Korea
    default: true
    require:
      - [north korea*, dprk]
      - [repatriat*]
feeds:
  - name: One
    url: https://one.example.org/rss
    language: en
    topics: [nk]
  - name: Two
    url: http://two.example.org/feed.xml
    language: ko
    interval: 1h
    outlet: Two Media
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == str(path)
    return caught.value.problems


# --- the shipped feeds.yaml ---------------------------------------------------------------------


def test_default_feeds_yaml_loads() -> None:
    config = load_config(REPO / "feeds.yaml")
    assert config.source == str(REPO / "feeds.yaml")
    assert config.topic("nk-repatriation").default is True
    assert config.topic("refugee-returns").default is False
    assert config.defaults == Defaults()  # the file spells out the built-in defaults
    ids = {a.id for a in config.actions}
    assert {'write-to-chinese-embassy', 'inform-un-special-rapporteur', 'raise-with-own-government',
            'amplify-rights-group-findings'} <= ids
    assert len(config.feeds) >= 15
    topic_ids = {t.id for t in config.topics}
    for feed in config.feeds:
        assert feed.url.startswith("https://"), feed.name
        assert set(feed.topics) <= topic_ids
        assert feed.interval_seconds >= 15 * 60
    languages = {f.language for f in config.feeds}
    assert {"en", "ko", "zh", "zh-TW"} <= languages
    google = [f for f in config.feeds if f.url.startswith("https://news.google.com/rss/search?")]
    assert {f.language for f in google} >= {"en", "ko", "zh"}


def test_describe_summarizes_the_config() -> None:
    config = parse_config(GOOD, "feeds.yaml")
    assert describe(config).splitlines() == [
        "feeds.yaml: OK: 1 topic, 2 feeds, 0 actions",
        "topics:",
        "  nk (default): North Korea [2 groups, 0 exclusions]",
        "    tiers: keywords (2 groups, 0 exclusions)",
        "feeds:",
        "  One [en, every 15m]: nk",
        "  Two [ko, every 1h]: all topics",
        "actions: 0",
    ]


def test_good_file_becomes_records() -> None:
    config = parse_config(GOOD)
    one, two = config.feeds
    assert one.outlet == "One" and one.interval_seconds == 900 and one.topics == ("nk",)
    assert two.outlet == "Two Media" and two.interval_seconds == 3600 and two.topics == ()
    assert config.topic("nk").require == (("north korea*", "dprk"), ("repatriat*",))
    assert config.feed("Two") is two
    other = parse_config(GOOD.replace("language: ko", "language: ZH-hant-tw"))
    assert other.feed("Two").language == "zh-Hant-TW"
    with pytest.raises(KeyError):
        config.feed("Three")


def test_defaults_and_actions_are_read() -> None:
    text = GOOD + textwrap.dedent(
        """\
        defaults:
          interval: 1h30m
          max_backoff: 12h
          timeout: 12.5
          max_body: 512KB
          concurrency: 2
          dedupe_window: 7d
          followup_window:
        actions:
          - id: write-embassy
            title: Write to the embassy
            text: "{count} people were sent back from {places} on {date}."
            url: https://example.org/act
            targets: [Chinese embassy]
            when: {topics: [nk], urgency: [urgent]}
            priority: 2
        """
    )
    config = parse_config(text)
    d = config.defaults
    assert (d.interval_seconds, d.max_backoff_seconds, d.timeout_seconds) == (5400, 12 * 3600, 12.5)
    assert (d.max_body_bytes, d.concurrency, d.dedupe_window_days) == (512 * 1024, 2, 7)
    assert d.followup_window_days == 45  # left empty: the default
    assert config.feed("One").interval_seconds == 5400  # feeds without an interval take the default
    (action,) = config.actions
    assert action.id == "write-embassy" and action.topics == ("nk",) and action.priority == 2
    assert [u.value for u in action.urgency] == ["urgent"]


# --- bad files: each names the file, the line and the key -----------------------------------------

BAD_FILES = [
    pytest.param(
        GOOD.replace("    name: North Korea\n", "    name: [North Korea\n"),
        4,  # where the parser gave up, naming the line where the open list began
        "invalid YAML: expected ',' or ']', but got ':', while parsing a flow sequence (line 3)",
        id="bad-yaml",
    ),
    pytest.param(
        GOOD.replace("  - name: Two\n", "  - name: Two\n\tlanguage: en\n"),
        14,
        "invalid YAML: found character '\\t'",
        id="tab",
    ),
    pytest.param(
        GOOD.replace("    interval: 1h\n", "    intervall: 1h\n"),
        16,
        "feeds[1].intervall: unknown key; did you mean 'interval'?",
        id="unknown-key",
    ),
    pytest.param(
        GOOD.replace("  - name: Two\n", "  - name: One\n"),
        13,
        "feeds[1].name: duplicate feed name 'One' (also on line 9)",
        id="duplicate-feed-name",
    ),
    pytest.param(
        GOOD.replace("    topics: [nk]\n", "    topics: [nk, refugees]\n"),
        12,
        "feeds[0].topics[1]: unknown topic 'refugees' (topics are: nk)",
        id="unknown-topic",
    ),
    pytest.param(
        GOOD.replace("http://two.example.org/feed.xml", "two.example.org/feed.xml"),
        14,
        "feeds[1].url: must be an http(s) URL (got 'two.example.org/feed.xml')",
        id="bad-url",
    ),
    pytest.param(
        GOOD.replace("    interval: 1h\n", "    interval: hourly\n"),
        16,
        "feeds[1].interval: must be a duration such as 90s, 15m, 2h or 3d (got 'hourly')",
        id="bad-duration",
    ),
    pytest.param(
        GOOD.replace("    interval: 1h\n", "    interval: 30s\n"),
        16,
        "feeds[1].interval: must be at least 1m (got '30s')",
        id="interval-too-short",
    ),
    pytest.param(
        GOOD.replace("    language: ko\n", "    language: no\n"),
        15,
        "feeds[1].language: must be a valid string (got false); YAML reads unquoted yes/no",
        id="yaml-boolean",
    ),
    pytest.param(
        GOOD.replace("      - [repatriat*]\n", "      - []\n"),
        7,
        "topics[0].require[1]: must have at least 1 item(s)",
        id="empty-require-group",
    ),
    pytest.param(
        GOOD.replace("      - [repatriat*]\n", "      - [re*patriate]\n"),
        7,
        "topics[0].require[1][0]: term 're*patriate': '*' is only allowed at the end of a word",
        id="bad-term",
    ),
    pytest.param(
        GOOD.replace("    language: en\n", "    language: en\n    language: ko\n"),
        12,
        "feeds[0].language: duplicate key (also on line 11)",
        id="duplicate-key",
    ),
    pytest.param(
        GOOD.replace("    url: https://one.example.org/rss\n", ""),
        9,
        "feeds[0].url: required key is missing",
        id="missing-key",
    ),
    pytest.param(
        "topics: []\nfeeds: []\n",
        1,
        "topics: must have at least 1 item(s)",
        id="no-topics",
    ),
    pytest.param("", 1, "the file is empty", id="empty-file"),
]


@pytest.mark.parametrize(("text", "line", "problem"), BAD_FILES)
def test_bad_file_names_line_and_key(tmp_path: Path, text: str, line: int, problem: str) -> None:
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert any(p.startswith(f"{path}:{line}: ") and problem in p for p in problems), problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace("https://one.example.org/rss", "ftp://one.example.org/rss")
        .replace("    topics: [nk]\n", "    topics: [nope]\n")
        .replace("    interval: 1h\n", "    interval: 10s\n")
    )
    path = write(tmp_path, text)
    assert problems_of(path) == [
        f"{path}:10: feeds[0].url: must be an http(s) URL (got 'ftp://one.example.org/rss')",
        f"{path}:12: feeds[0].topics[0]: unknown topic 'nope' (topics are: nk)",
        f"{path}:16: feeds[1].interval: must be at least 1m (got '10s')",
    ]


def test_error_message_lists_problems(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("    interval: 1h\n", "    interval: hourly\n"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: invalid configuration:\n  {path}:16: feeds[1].interval:")


def test_action_placeholders_are_checked() -> None:
    text = GOOD + 'actions:\n  - {id: a, title: T, text: "{count} sent back from {place}"}\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "f.yaml")
    assert caught.value.problems == [
        "f.yaml:19: actions[0].text: unknown placeholder {place}; "
        "allowed: {count} {places} {date} {reporters}"
    ]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert problems_of(path) == [f"{path}: file not found"]


# --- durations and sizes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(900, 900), (2.5, 2.5), ("90s", 90), ("15m", 900), ("2h", 7200), ("3d", 259200), ("1h30m", 5400),
     (" 45 ", 45), ("1.5m", 90), ("2H", 7200)],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["soon", "5 minutes", "-3m", -1, True, None, "", "1w", [15]])
def test_parse_duration_refuses(value: object) -> None:
    with pytest.raises(ValueError, match=r"duration|negative"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "size"),
    [(1000, 1000), ("512KB", 512 * 1024), ("5MB", 5 * 1024 * 1024), ("5 mb", 5 * 1024 * 1024),
     ("1.5MiB", 1536 * 1024), ("100", 100)],
)
def test_parse_size(value: object, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["big", "5 TB", True, -1, 1.5])
def test_parse_size_refuses(value: object) -> None:
    with pytest.raises(ValueError):
        parse_size(value)


@pytest.mark.parametrize(("seconds", "text"), [(900, "15m"), (5400, "1h30m"), (90, "1m30s"), (86400, "1d")])
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


# --- settings from the environment ----------------------------------------------------------------


def test_settings_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'data' / 'advocacy-bot.sqlite3'}"
    assert settings.config_path == "feeds.yaml"
    assert settings.log_level == "INFO"
    assert settings.user_agent == f"advocacy-bot/{__version__} (+https://github.com/advocacy-bot/advocacy-bot)"


def test_settings_from_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "BOT_DB_PATH": str(tmp_path / "bot.sqlite3"),
            "FEEDS_CONFIG": "/etc/advocacy-bot/feeds.yaml",
            "LOG_LEVEL": "debug",
            "BOT_USER_AGENT": "my-bot/1.0",
        }
    )
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'bot.sqlite3'}"
    assert (settings.config_path, settings.log_level, settings.user_agent) == (
        "/etc/advocacy-bot/feeds.yaml", "DEBUG", "my-bot/1.0",
    )
    url = "postgresql+psycopg://bot@db/bot"
    assert load_settings({"DATABASE_URL": url, "BOT_DB_PATH": "ignored"}).database_url == url
    assert load_settings({"LOG_LEVEL": "warn"}).log_level == "WARNING"


def test_bad_settings_name_each_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DATABASE_URL": "localhost/bot", "LOG_LEVEL": "loud", "BOT_USER_AGENT": "a\nb"})
    assert caught.value.path == "environment"
    assert [p.split(":")[0] for p in caught.value.problems] == ["DATABASE_URL", "LOG_LEVEL", "BOT_USER_AGENT"]
    assert "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'loud')" in caught.value.problems[1]
