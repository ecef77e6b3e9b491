"""Stories one line each: the daily digest, the /recent and /search lists, /actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.domain import Story, Urgency
from bot.telegram.callbacks import (
    Button,
    Rendered,
    action_callback,
)
from bot.telegram.html import (
    clip,
    clip_plain,
    fit_html,
    ltr,
)
from bot.telegram.messages.pieces import (
    ACTION_TITLE,
    BUTTON_LABEL,
    MAX_ALERT_ACTIONS,
    action_title,
    outlet_count,
    outlets_phrase,
    story_command,
    story_title,
)
from bot.telegram.messages.view import View
from bot.telegram.messages.wording import format_day, format_time, localized_action

_LINE_TITLE = 120


def _story_day(story: Story, view: View) -> str:
    if story.first_seen:
        return format_day(story.first_seen, view)
    if story.sources:
        earliest = min(s.published.replace(tzinfo=UTC) if s.published.tzinfo is None else s.published
                       for s in story.sources)
        return format_day(earliest, view)
    return ""


def render_story_line(story: Story, *, view: View | None = None) -> str:
    """One escaped line for lists: '/story_12 · title · 4 outlets · 12 Oct 2023' (the command is tappable).

    A line holding right-to-left text starts with U+200E (LEFT-TO-RIGHT MARK) so it keeps this layout.
    """
    view = view or View()
    t = view.t
    parts = [story_command(story.id), story_title(story, _LINE_TITLE, t)]
    outlets = outlet_count(story, t)
    if outlets:
        parts.append(outlets_phrase(outlets, t))
    day = _story_day(story, view)
    if day:
        parts.append(day)
    return ltr(" · ".join(parts))


def render_digest(stories: Sequence[Story], *, since: datetime, view: View | None = None) -> list[str]:
    """Stories since `since`, urgent ones first, one line each; over as many messages as needed."""
    view = view or View()
    t = view.t
    if not stories:
        return ["🗞 " + t.html("No new stories since {time}.", time=format_time(since, view))]
    count = t.nhtml("{n} story", "{n} stories", len(stories))
    head = "🗞 <b>" + t.html("Digest") + "</b>: " + t.html("{count} since {time}", count=count,
                                                            time=format_time(since, view))
    urgent = [render_story_line(s, view=view) for s in stories if s.urgency is Urgency.URGENT]
    other = [render_story_line(s, view=view) for s in stories if s.urgency is not Urgency.URGENT]
    blocks = [head]
    if urgent:
        blocks.append("\n".join(["🚨 <b>" + t.html("Urgent") + "</b>", *urgent]))
    if other:
        blocks.append("\n".join(["🔔 <b>" + t.html("Updates") + "</b>", *other]))
    blocks.append(t.html("Tap a story's command to read it."))
    return fit_html(blocks)

def render_story_list(heading: str, stories: Sequence[Story], *, empty: str, view: View | None = None) -> list[str]:
    """A heading (HTML) and one line per story, each with its tappable command; `empty` (HTML) when none."""
    view = view or View()
    if not stories:
        return [f"{heading}\n{empty}"]
    lines = "\n".join(render_story_line(story, view=view) for story in stories)
    return fit_html([heading, lines, view.t.html("Tap a story's command to read it.")])


def render_actions(stories: Sequence[Story], *, view: View | None = None) -> Rendered:
    """/actions: each story's line and its action titles; the buttons open the action cards."""
    view = view or View()
    t = view.t
    blocks = ["✍️ <b>" + t.html("What you can do now") + "</b>"]
    rows: list[tuple[Button, ...]] = []
    for story in stories:
        if not story.actions:
            continue
        lines = [render_story_line(story, view=view)]
        for index, action in enumerate(story.actions[:MAX_ALERT_ACTIONS]):
            title = action_title(localized_action(story, action, view), t)
            lines.append(f"✍️ {clip(title, ACTION_TITLE)}")
            label = f"✍️ #{story.id} · " + clip_plain(title, BUTTON_LABEL)
            rows.append((Button(label, callback_data=action_callback(story, index)),))
        blocks.append("\n".join(lines))
    if len(blocks) == 1:
        return Rendered(t.html("No actions suggested for recent urgent stories. /recent lists the latest stories."))
    blocks.append(t.html("Tap an action to read its text, ready to copy."))
    (text, *_) = fit_html(blocks)
    return Rendered(text, tuple(rows))
