"""Admin report rules: which feeds raise an alarm, when alarms repeat, and the message an admin reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import FeedState, OutboxEntry, OutboxKind, OutboxStatus
from bot.run.reports import Alarm, DailyCount, due, failure_alarms, feed_alarms, render_report

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def state(name: str = "Wire", **changes: object) -> FeedState:
    values: dict[str, object] = dict(
        name=name, url="http://127.0.0.1/feed", etag=None, last_modified=None, body_hash=None,
        next_check_at=NOW, error_count=0, last_error=None, last_error_at=None,
        last_success_at=NOW - timedelta(hours=1), disabled=False, disabled_reason=None, malformed=None,
    )
    values.update(changes)
    return FeedState(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("feed", "latest", "expected"),
    [
        (state(), NOW - timedelta(hours=2), []),
        (state(disabled=True, disabled_reason="http-410: gone"), None, ["disabled:Wire"]),
        # One failure an hour after a success is not worth a message...
        (state(error_count=1, last_error="timeout"), NOW, []),
        # ...a day without success is.
        (state(error_count=9, last_error="http-500", last_success_at=NOW - timedelta(days=1, minutes=1)), NOW,
         ["failing:Wire"]),
        # A feed that never worked is reported after a few attempts, not after the first.
        (state(error_count=2, last_error="dns", last_success_at=None), None, []),
        (state(error_count=5, last_error="dns", last_success_at=None), None, ["failing:Wire"]),
        (state(), NOW - timedelta(days=7), ["silent:Wire"]),
        (state(), NOW - timedelta(days=6, hours=23), []),
    ],
)
def test_feed_alarms(feed: FeedState, latest: datetime | None, expected: list[str]) -> None:
    latest_map = {} if latest is None else {feed.name: latest}
    alarms = feed_alarms([feed], latest_map, NOW, silent_after=timedelta(days=7))
    assert [a.key for a in alarms] == expected


def test_feed_text_is_escaped_in_the_report() -> None:
    feed = state(name="<b>Evil</b> & co", disabled=True, disabled_reason="<script>x</script>")
    text = render_report(feed_alarms([feed], {}, NOW, silent_after=timedelta(days=7)), None)
    assert text is not None
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; co" in text


def test_alarms_repeat_at_most_daily() -> None:
    alarm = Alarm("failing:Wire", "x")
    assert due([alarm], {}, NOW) == [alarm]
    assert due([alarm], {"failing:Wire": NOW - timedelta(hours=23)}, NOW) == []
    assert due([alarm], {"failing:Wire": NOW - timedelta(hours=24)}, NOW) == [alarm]


def test_report_is_none_when_nothing_to_say_and_bounded_when_much() -> None:
    assert render_report([], None) is None
    many = [Alarm(f"k{i}", "⚠️ Feed <b>" + "x" * 300 + "</b> is failing") for i in range(100)]
    text = render_report(many, DailyCount(items=5, stories=2, sent=7, failed=1, pending=0, active_chats=3))
    assert text is not None
    assert len(text) < 4096
    assert "and 70 more" in text
    assert text.count("<b>") == text.count("</b>")
    assert "5 items, 2 stories, 7 alerts sent, 1 failed, 0 queued, 3 active chats" in text


def test_failed_delivery_alarm_names_story_chat_and_reason() -> None:
    entry = OutboxEntry(
        id=4, story_id=12, chat_id=-100, kind=OutboxKind.ALERT, status=OutboxStatus.FAILED, attempts=6,
        next_attempt_at=NOW, created_at=NOW, last_error="bot was blocked <by user>",
    )
    (alarm,) = failure_alarms([entry])
    assert alarm.key == "delivery:4"
    assert "#12" in alarm.text and "-100" in alarm.text and "&lt;by user&gt;" in alarm.text
