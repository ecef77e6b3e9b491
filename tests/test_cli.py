"""The command line as a maintainer uses it: real subprocesses, real files, a real database and HTTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.feedserver import FeedServer
from tests.test_pipeline import DAILY_ITEMS, WIRE_ITEMS, rss

REPO = Path(__file__).resolve().parents[1]
STORIES = REPO / "tests" / "fixtures" / "stories"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "LOG_LEVEL": "WARNING", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120
    )


def test_check_config_summarizes_the_default_file() -> None:
    result = run("check-config", "--config", str(REPO / "feeds.yaml"))
    assert result.returncode == 0, result.stderr
    assert "nk-repatriation" in result.stdout and "refugee-returns" in result.stdout
    assert "actions: " in result.stdout


def test_check_config_names_the_file_line_and_key_of_each_problem(tmp_path: Path) -> None:
    bad = tmp_path / "feeds.yaml"
    bad.write_text(
        "topics:\n"
        "  - id: nk\n"
        "    name: NK\n"
        "    require: [[north korea]]\n"
        "feeds:\n"
        "  - name: One\n"
        "    url: ftp://example.org/feed\n"
        "    language: en\n"
        "    topics: [nope]\n"
    )
    result = run("check-config", "--config", str(bad))
    assert result.returncode == 1
    assert f"{bad}:7: feeds[0].url" in result.stderr
    assert f"{bad}:9: feeds[0].topics" in result.stderr


def test_poll_refuses_an_old_schema_then_polls_after_upgrade(
    tmp_path: Path, feed_server: FeedServer, database_url: str
) -> None:
    feed_server.add("/wire.xml", body=rss("Wire", WIRE_ITEMS))
    feed_server.add("/daily.xml", body=rss("Daily", DAILY_ITEMS))
    config = tmp_path / "feeds.yaml"
    config.write_text(
        (REPO / "feeds.yaml").read_text().split("\nfeeds:\n")[0]
        + "\nfeeds:\n"
        + f"  - name: Wire\n    url: {feed_server.url('/wire.xml')}\n    language: en\n"
        + f"  - name: Daily\n    url: {feed_server.url('/daily.xml')}\n    language: ko\n"
        + f"  - name: Dead\n    url: {feed_server.url('/dead.xml')}\n    language: en\n"
        + "\n" + "actions:" + (REPO / "feeds.yaml").read_text().split("\nactions:", 1)[1]
    )
    env = {"DATABASE_URL": database_url}
    refused = run("poll", "--once", "--config", str(config), env=env)
    assert refused.returncode == 1
    assert "advocacy-bot db upgrade" in refused.stderr

    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    polled = run("poll", "--once", "--config", str(config), env=env)
    assert polled.returncode == 0, polled.stderr
    lines = polled.stdout.splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("feed "))):]
    rows = {line.split()[0]: line.split() for line in table[2:]}
    assert rows["Wire"][1:4] == ["ok", "2", "1"]
    assert rows["Daily"][1:4] == ["ok", "1", "1"]
    assert rows["Dead"][1] == "error" and "http-404" in " ".join(rows["Dead"][4:])


def replay_records(*paths: Path) -> list[dict[str, Any]]:
    result = run("replay", *map(str, paths))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_replay_prints_items_then_stories_in_the_documented_shape() -> None:
    records = replay_records(STORIES)
    items = [r for r in records if r["type"] == "item"]
    stories = {r["id"]: r for r in records if r["type"] == "story"}
    labels = json.loads((STORIES / "labels.json").read_text())
    # Two items repeat: a GUID inside one feed, and a link carried by two feeds.
    assert len(items) == len(labels["items"]) + 2
    assert set(items[0]) == {
        "type", "feed", "title", "link", "published", "topics", "match", "duplicate_of", "duplicate_reason", "story"
    }
    assert [i["published"] for i in items] == sorted(i["published"] for i in items)
    duplicates = [i for i in items if i["duplicate_of"]]
    assert sorted(i["duplicate_reason"] for i in duplicates) == ["same guid", "same link"]
    # Every matched, first-seen item is in a story; unmatched items are in none.
    for item in items:
        assert (item["story"] is not None) == bool(item["topics"]), item["title"]
    story = next(iter(stories.values()))
    assert set(story) >= {"type", "id", "title", "summary", "facts", "urgency", "sources", "actions"}
    assert set(story["facts"]) >= {"places", "dates", "reporters", "outlets"}


def test_replay_reports_a_file_that_is_not_a_feed_and_goes_on(tmp_path: Path) -> None:
    (tmp_path / "page.xml").write_text("<html><body>not a feed</body></html>")
    (tmp_path / "wire.xml").write_bytes(rss("Wire", WIRE_ITEMS))
    records = replay_records(tmp_path)
    assert records[0]["type"] == "error" and records[0]["file"].endswith("page.xml")
    assert [r["title"] for r in records if r["type"] == "item"] == [t for t, *_ in WIRE_ITEMS]
