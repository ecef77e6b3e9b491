"""`advocacy-bot demo`, run as a user runs it (a subprocess), judged by what it prints."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import load_config
from bot.tools.demo import CONFIG_NAME, PLACEHOLDER_ORIGIN, demo_config, demo_folder, html_to_text

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_SECONDS = 60

FIVE_OUTLETS = ("Harbour Wire", "Northwind Post", "Freedom Crossing Network", "새벽일보", "华东时报")

# Text that only the sample feeds' page clutter holds: none of it may reach a subscriber.
CLUTTER = (
    "cookie", "Accept all", "Donate", "donation", "Give now", "Getty", "AFP", "Subscribe", "Sign up",
    "Northwind Briefing", "Read more", "What happens to North Koreans caught in China", "Share this",
    "first appeared on", "자료사진", "무단전재", "재배포", "责任编辑", "版权所有", "不得转载",
)

# Titles of the items that must raise no alert and open no story: off-topic news and near-misses that share
# words with the topic (Deportivo/deport, war remains/repatriation, an expelled diplomat, border trade, missiles).
NOT_MATCHED = (
    "Deportivo", "Remains of 25 Chinese soldiers", "Mongolia orders North Korean diplomat", "test-fires",
    "단거리 탄도미사일", "货运列车", "Dock workers", "Central bank holds rates", "Shipping rates", "Typhoon",
)

_TAG = re.compile(r"</?(?:b|i|u|s|a|code|pre|blockquote|tg-spoiler|br|p|div|span)\b[^>]*>", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:[a-z]+|#[0-9]+|#x[0-9a-f]+);", re.IGNORECASE)
_ALERT_RULE = re.compile(r"^── alert (\d+) of (\d+) ─+$", re.MULTILINE)
_ACCOUNT = re.compile(
    r"^feeds polled: (\d+)(?: \((\d+) failed\))? · items: (\d+) \((\d+) new, (\d+) repeats?\) · matched: (\d+)"
    r" · stories: (\d+) · alerts: (\d+)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    seconds: float


def run_demo(tmp: Path, *extra: str) -> Run:
    """`python -m bot demo` from an empty folder, with an environment that would break a demo reading it."""
    (tmp / "feeds.yaml").write_text("this: [is not a feeds file\n", encoding="utf-8")
    env = {
        **os.environ,
        "DATABASE_URL": "not a database url",
        "FEEDS_CONFIG": str(tmp / "feeds.yaml"),
        "TELEGRAM_BOT_TOKEN": "not-a-token",
        # A proxy nobody listens on: the demo's requests to 127.0.0.1 must not go through it.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
    }
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", *extra], cwd=tmp, env=env, capture_output=True, text=True,
        encoding="utf-8", timeout=DEADLINE_SECONDS * 2,
    )
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Run:
    run = run_demo(tmp_path_factory.mktemp("demo"))
    assert run.code == 0, run.err
    return run


def alerts_of(out: str) -> list[str]:
    """The printed alert blocks, each from its rule to the next alert's rule or the closing sections."""
    starts = [m.start() for m in _ALERT_RULE.finditer(out)]
    end = out.find("\n── stories on topics")
    end = end if end != -1 else out.find("\n── account")
    return [out[a:b] for a, b in zip(starts, [*starts[1:], end], strict=True)]


def story_id(block: str) -> int:
    found = re.search(r"/story_(\d+)", block)
    assert found, block[:200]
    return int(found.group(1))


def sources_of(block: str) -> list[str]:
    section = block.split("── 📖 The story in full", 1)[1].split("\n── ", 1)[0]
    return [line for line in section.splitlines() if re.match(r"\d+\. ", line)]


def test_finishes_quickly_without_token_network_or_environment(demo: Run) -> None:
    assert demo.seconds < DEADLINE_SECONDS
    assert "served from http://127.0.0.1:" in demo.out
    assert "Traceback" not in demo.err


def test_five_outlet_story_appears_once_with_its_facts(demo: Run) -> None:
    blocks = [b for b in alerts_of(demo.out) if "📰 5 outlets" in b]
    assert len(blocks) == 1
    block = blocks[0]
    assert "🚨 URGENT" in block
    assert "👥 500–600 people · 📍" in block  # the alert's one facts line
    assert "📅 9 Oct 2023" in block
    places = re.search(r"^📍 Places: (.+)$", block, re.MULTILINE)
    assert places and {"Tumen", "Dandong"} <= {p.strip() for p in places.group(1).split(",")}
    reporters = re.search(r"^🗣️ Reported by: (.+)$", block, re.MULTILINE)
    assert reporters and "TJWG" in reporters.group(1) and "Human Rights Watch" in reporters.group(1)
    sources = sources_of(block)
    assert len(sources) == 5
    assert sorted(s.rsplit(" — ", 1)[1].split(" · ")[0] for s in sources) == sorted(FIVE_OUTLETS)
    # Every language of the samples is in it: the Korean and Chinese reports joined the English ones.
    assert any("강제북송" in s for s in sources) and any("遣返" in s for s in sources)
    assert "What you can do" in block and "[✍️ Write to China's embassy]" in block
    # The syndicated copy is one source, although its feed lists it twice.
    assert sum("Northwind Post" in s for s in sources) == 1


def test_near_misses_are_separate_stories_or_unmatched(demo: Run) -> None:
    blocks = alerts_of(demo.out)
    mass = next(b for b in blocks if "📰 5 outlets" in b)
    appeal = [b for b in blocks if "👥 5 people" in b]
    assert len(appeal) == 1, "the five held in Shenyang are their own story, not part of the mass return"
    assert "📍 Shenyang" in appeal[0] and "🚨 URGENT" in appeal[0] and "📰 2 outlets" in appeal[0]
    assert "Shenyang" not in mass
    follow_up = [b for b in blocks if "↪️ Follow-up to /story_" in b]
    assert len(follow_up) == 1, "the UN statement three weeks on is a follow-up, not merged into the story"
    assert f"↪️ Follow-up to /story_{story_id(mass)}" in follow_up[0]
    assert "UN Special Rapporteur" in follow_up[0] and "🔔 Update" in follow_up[0]
    # A story on a topic the subscriber did not choose is stored but raises no alert.
    assert re.search(r"^story #\d+ \[refugee-returns\]: India: end the deportation of Rohingya", demo.out, re.MULTILINE)
    assert all("Rohingya" not in b for b in blocks)
    for title in NOT_MATCHED:
        assert title not in demo.out, title


def test_no_clutter_markup_or_escape_codes_reach_the_output(demo: Run) -> None:
    for text in CLUTTER:
        # Latin words as whole words ("Subscribe", not "subscriber"); Korean and Chinese anywhere.
        pattern = rf"\b{re.escape(text)}\b" if text.isascii() else re.escape(text)
        assert not re.search(pattern, demo.out, re.IGNORECASE), text
    assert not _TAG.search(demo.out), _TAG.search(demo.out)
    assert not _ENTITY.search(demo.out), _ENTITY.search(demo.out)
    assert "\x1b[" not in demo.out  # captured, not a terminal: no ANSI bold
    # Links are shown as 'label <url>', and only to the outlets' own pages (none to the local server).
    assert "Harbour Wire <https://www.harbourwire.example/" in demo.out
    assert "utm_source" not in demo.out


def test_account_numbers_agree_with_what_was_printed(demo: Run) -> None:
    found = _ACCOUNT.findall(demo.out)
    assert len(found) == 1, demo.out[-400:]
    feeds, failed, items, new, repeats, matched, stories, alerts = (int(n or 0) for n in found[0])
    blocks = alerts_of(demo.out)
    totals = {int(m.group(2)) for m in _ALERT_RULE.finditer(demo.out)}
    quiet = re.findall(r"^story #\d+ \[", demo.out, re.MULTILINE)
    with demo_folder() as folder:
        configured = len(demo_config(folder, "http://127.0.0.1:1/").feeds)
    assert (feeds, failed) == (configured, 0)
    assert items == new + repeats
    assert alerts == len(blocks) and totals == {alerts}
    assert stories == alerts + len(quiet)
    # Every matched report is a source of exactly one story (repeats are not counted as new).
    shown = sum(len(sources_of(b)) for b in blocks)
    assert shown <= matched <= new
    # The bundled samples are fixed, so the whole account is known: 6 feeds, 20 items of which the Northwind
    # copy listed twice is the one repeat, 9 matched reports, 4 stories, 3 of them on the default topic.
    assert (feeds, items, new, repeats, matched, stories, alerts) == (6, 20, 19, 1, 9, 4, 3)


def test_db_option_keeps_the_results_and_refuses_a_used_file(tmp_path: Path) -> None:
    db = tmp_path / "kept.sqlite3"
    first = run_demo(tmp_path, "--db", str(db))
    assert first.code == 0, first.err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM stories").fetchone() == (4,)
    again = run_demo(tmp_path, "--db", str(db))
    assert again.code == 1
    assert again.out == ""
    assert f"error: demo: {db} already exists" in again.err
    assert "Traceback" not in again.err


def test_demo_topics_and_actions_are_the_projects() -> None:
    with demo_folder() as folder:
        bundled = demo_config(folder, "http://127.0.0.1:1/")
        raw = (folder / CONFIG_NAME).read_text(encoding="utf-8")
    main = load_config(ROOT / "feeds.yaml")
    assert bundled.topics == main.topics
    assert bundled.actions == main.actions
    assert raw.count("url: " + PLACEHOLDER_ORIGIN) == len(bundled.feeds)
    assert all(f.url.startswith("http://127.0.0.1:1/") for f in bundled.feeds)


@pytest.mark.parametrize(
    ("html", "bold", "text"),
    [
        ("<b>URGENT</b> · story #1", False, "URGENT · story #1"),
        ("<b>URGENT</b> · story #1", True, "\x1b[1mURGENT\x1b[22m · story #1"),
        ("<b>a <b>b</b> c</b>", True, "\x1b[1ma b c\x1b[22m"),
        ('Reported by <a href="https://x.example/a?b=1&amp;c=2">X &amp; Y</a>', False,
         "Reported by X & Y <https://x.example/a?b=1&c=2>"),
        ('<a href="https://x.example/">https://x.example/</a>', False, "https://x.example/"),
        ("&lt;script&gt; &quot;q&quot; &#39;s&#39;", False, "<script> \"q\" 's'"),
        ("<pre>line 1\nline 2</pre>\n<code>your MP</code>", False, "line 1\nline 2\nyour MP"),
        ("<b>left open", True, "\x1b[1mleft open\x1b[22m"),
    ],
)
def test_html_to_text(html: str, bold: bool, text: str) -> None:
    assert html_to_text(html, bold=bold) == text
