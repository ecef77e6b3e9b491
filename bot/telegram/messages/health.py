"""The feeds' and the bot's health: /sources for readers, /status and /reload for operators."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.i18n import Translator
from bot.telegram.html import (
    clean,
    clip,
    escape,
    fit_html,
    ltr,
)
from bot.telegram.messages.view import View
from bot.telegram.messages.wording import format_time

if TYPE_CHECKING:  # records of the replies; only their attributes are read here
    from bot.services import FeedHealth, ReloadResult, Status


_FEED_MARKS = {"ok": "✅", "new": "🆕", "retrying": "⏳", "failing": "⚠️", "disabled": "⏸"}


def _feed_line(feed: FeedHealth, view: View) -> str:
    t = view.t
    name = clip(clean(feed.name), 80)
    line = f"{_FEED_MARKS.get(feed.state, '•')} {name} · {escape(feed.language)}"
    if feed.state == "new":
        line += " — " + t.html("not polled yet")
    elif feed.state == "disabled":
        reason = clip(clean(feed.disabled_reason or t.gettext("no reason recorded")), 120)
        line += " — " + t.html("disabled: {reason}", reason=reason)
    elif feed.state in ("failing", "retrying"):
        error = clip(clean(feed.last_error or t.gettext("unknown error")), 120)
        state = t.html("failing") if feed.state == "failing" else t.html("retrying")
        line += " — " + t.nhtml("{state}, {n} error in a row: {error}", "{state}, {n} errors in a row: {error}",
                                feed.errors, state=state, error=error)
    elif feed.last_success_at is not None:
        line += " — " + t.html("ok, last fetched {time}", time=format_time(feed.last_success_at, view))
    return ltr(line)


def render_feed_health(feeds: Sequence[FeedHealth], *, view: View | None = None) -> list[str]:
    """/sources: every monitored feed with a mark and what is wrong, if anything."""
    view = view or View()
    t = view.t
    if not feeds:
        return [t.html("No feeds are configured.")]
    healthy = sum(1 for feed in feeds if feed.healthy)
    head = "📡 <b>" + t.html("Monitored feeds") + "</b>: " + t.html(
        "{total}, {healthy} healthy", total=t.number(len(feeds)), healthy=t.number(healthy)
    )
    return fit_html([head, "\n".join(_feed_line(feed, view) for feed in feeds)])


def _ago(then: datetime, now: datetime, t: Translator) -> str:
    def utc(moment: datetime) -> datetime:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    minutes = int((utc(now) - utc(then)).total_seconds() // 60)
    if minutes < 1:
        return t.html("just now")
    if minutes < 120:
        return t.nhtml("{n} min ago", "{n} min ago", minutes)
    hours = minutes // 60
    if hours < 48:
        return t.nhtml("{n} h ago", "{n} h ago", hours)
    return t.nhtml("{n} day ago", "{n} days ago", hours // 24)


def render_status(status: Status, *, view: View | None = None) -> list[str]:
    """/status for operators: queue, last poll, failing feeds, chats, stories, recent delivery failures."""
    view = view or View()
    t = view.t
    counts = " · ".join(f"{escape(name)} {t.number(n)}" for name, n in status.outbox if name != "pending")
    last = (
        f"{format_time(status.last_poll, view)} ({_ago(status.last_poll, status.now, t)})"
        if status.last_poll else t.html("never")
    )
    lines = [
        "🩺 <b>" + t.html("Status") + f"</b> · {format_time(status.now, view)}",
        "📤 " + t.html("Outbox: {n} pending", n=t.number(status.pending)) + (f" · {counts}" if counts else ""),
        "🕑 " + t.html("Last poll: {time}", time=last),
        "📡 " + t.html("Feeds: {total} configured, {failing} not healthy", total=t.number(status.feeds),
                        failing=t.number(len(status.failing))),
        *(f"   {_feed_line(feed, view)}" for feed in status.failing[:15]),
        "👥 " + t.html("Chats: {active} active, {inactive} inactive", active=t.number(status.chats_active),
                        inactive=t.number(status.chats_inactive)),
        "🗞 " + t.html("Stories: {n}", n=t.number(status.stories)),
        "⚙️ " + t.html("Config: {source}", source=f"<code>{clip(clean(status.config_source), 200)}</code>"),
    ]
    if len(status.failing) > 15:
        lines.insert(4 + 15, "   " + t.html("+{n} more: /sources", n=t.number(len(status.failing) - 15)))
    blocks = ["\n".join(lines)]
    if status.recent_failures:
        failures = ["⚠️ <b>" + t.html("Recent delivery failures") + "</b>"]
        for entry in status.recent_failures:
            reason = clip(clean(entry.last_error or t.gettext("no reason recorded")), 200)
            failures.append("• " + t.html("chat {chat}, story {story}: {reason}", chat=f"<code>{entry.chat_id}</code>",
                                          story=f"#{entry.story_id}", reason=reason))
        blocks.append("\n".join(failures))
    return fit_html(blocks)


def render_reload(result: ReloadResult, *, view: View | None = None) -> list[str]:
    """/reload: what is in force now, or the problems of the file and that the old config stays."""
    view = view or View()
    t = view.t
    source = f"<code>{clip(clean(result.source), 200)}</code>"
    if not result.ok:
        shown = result.problems[:30]
        problems = "\n".join(f"• {clip(clean(p), 300)}" for p in shown)
        if len(result.problems) > len(shown):
            problems += f"\n+{len(result.problems) - len(shown)}"
        head = "❌ " + t.html("{source} has problems; the configuration in force is unchanged.", source=source)
        return fit_html([head, problems or "• " + t.html("(no details)")])
    lines = [
        "✅ " + t.html("Reloaded {source}: {topics}, {feeds}, {actions}.", source=source,
                       topics=t.nhtml("{n} topic", "{n} topics", result.topics),
                       feeds=t.nhtml("{n} feed", "{n} feeds", result.feeds),
                       actions=t.nhtml("{n} action", "{n} actions", result.actions))
    ]
    if result.added_feeds:
        lines.append(t.html("Added feeds: {names}", names=", ".join(clip(clean(n), 80) for n in result.added_feeds)))
    if result.removed_feeds:
        lines.append(t.html("Removed feeds: {names}",
                            names=", ".join(clip(clean(n), 80) for n in result.removed_feeds)))
    return fit_html(["\n".join(lines)])
