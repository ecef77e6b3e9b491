"""Admin reports, as pure functions: which alarms hold now, which are due again, and the message text."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import FeedState, OutboxEntry

# A feed that never worked is reported after this many failures in a row: with the default 15-minute
# interval and doubling backoff, five attempts span about eight hours, so a typo in a new URL is caught the
# same day, while one timeout is not worth a message.
NEVER_WORKED_FAILURES = 5
FAILING_AFTER = timedelta(days=1)
# Each alarm is repeated at most this often while it holds: a report nobody can act on twice a day is noise.
REPEAT_EVERY = timedelta(days=1)
MAX_LINES = 30
MAX_LINE = 120


@dataclass(frozen=True, slots=True)
class Alarm:
    """Something an admin should know; `key` names it so it is not repeated more than once a day."""

    key: str
    text: str  # Telegram HTML, every outside value escaped


@dataclass(frozen=True, slots=True)
class DailyCount:
    """What the bot did in the past day, for the daily line of the admin report."""

    items: int
    stories: int
    sent: int
    failed: int
    pending: int
    active_chats: int


def feed_alarms(
    states: Sequence[FeedState], latest: Mapping[str, datetime], now: datetime, *, silent_after: timedelta
) -> list[Alarm]:
    """Alarms for disabled feeds, feeds failing for a day (or never working), and feeds silent too long."""
    alarms: list[Alarm] = []
    for state in states:
        name = html.escape(state.name)
        if state.disabled:
            reason = html.escape(state.disabled_reason or "no reason recorded")
            alarms.append(Alarm(f"disabled:{state.name}", f"⛔ Feed <b>{name}</b> is disabled: {reason}"))
            continue
        if state.error_count > 0:
            never = state.last_success_at is None and state.error_count >= NEVER_WORKED_FAILURES
            long_failing = state.last_success_at is not None and now - state.last_success_at >= FAILING_AFTER
            if never or long_failing:
                since = "never worked" if state.last_success_at is None else (
                    f"last worked {_ago(now - state.last_success_at)} ago"
                )
                error = html.escape(state.last_error or "unknown error")
                alarms.append(Alarm(
                    f"failing:{state.name}",
                    f"⚠️ Feed <b>{name}</b> is failing ({state.error_count} times, {since}): {error}",
                ))
                continue
        newest = latest.get(state.name)
        if newest is not None and now - newest >= silent_after:
            alarms.append(Alarm(
                f"silent:{state.name}", f"💤 Feed <b>{name}</b> has published nothing for {_ago(now - newest)}"
            ))
    return alarms


def failure_alarms(failures: Sequence[OutboxEntry]) -> list[Alarm]:
    """One alarm per failed delivery (keyed by outbox row, so each is told once)."""
    return [
        Alarm(
            f"delivery:{entry.id}",
            f"📭 Story #{entry.story_id} to chat {entry.chat_id} failed: "
            f"{html.escape(entry.last_error or 'no reason')}",
        )
        for entry in failures
    ]


def due(alarms: Sequence[Alarm], last_told: Mapping[str, datetime], now: datetime) -> list[Alarm]:
    """The alarms not told in the past REPEAT_EVERY."""
    return [a for a in alarms if (told := last_told.get(a.key)) is None or now - told >= REPEAT_EVERY]


def render_report(alarms: Sequence[Alarm], daily: DailyCount | None) -> str | None:
    """The admin message for these alarms and the daily count, or None when there is nothing to say."""
    # A Telegram message holds 4,096 characters; 30 lines of at most ~120 fit with the daily line.
    lines = [_short(a.text) for a in alarms[:MAX_LINES]]
    if len(alarms) > MAX_LINES:
        lines.append(f"… and {len(alarms) - MAX_LINES} more (see /status)")
    if daily is not None:
        lines.append(
            f"📊 Past day: {daily.items} items, {daily.stories} stories, {daily.sent} alerts sent, "
            f"{daily.failed} failed, {daily.pending} queued, {daily.active_chats} active chats"
        )
    if not lines:
        return None
    return "\n".join(["<b>Bot report</b>", *lines])


def _short(text: str) -> str:
    """`text` cut to about MAX_LINE characters, never inside an entity or a tag (alarm texts hold only <b>)."""
    if len(text) <= MAX_LINE:
        return text
    cut = text[:MAX_LINE]
    # Drop a half-written entity or tag at the end, then close a <b> left open.
    amp, lt = cut.rfind("&"), cut.rfind("<")
    if amp > cut.rfind(";"):
        cut = cut[:amp]
    if lt > cut.rfind(">"):
        cut = cut[:lt]
    if cut.count("<b>") > cut.count("</b>"):
        cut += "</b>"
    return cut + "…"


def _ago(delta: timedelta) -> str:
    """'3 days', '5 hours' or '12 minutes': the largest whole unit."""
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds >= 3600:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(seconds // 60, 0)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
