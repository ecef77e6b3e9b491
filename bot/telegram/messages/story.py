"""A story beyond its alert: the follow-up note, the story in full, its sources, an action's card."""

from __future__ import annotations

from bot.domain import Action, Story, Urgency
from bot.telegram.callbacks import (
    Rendered,
)
from bot.telegram.html import (
    MAX_MESSAGE,
    clean,
    clean_block,
    clip,
    escape,
    fit_html,
    host,
    link,
    safe_url,
    utf16_len,
)
from bot.telegram.messages.alert import SUMMARY_MIN, alert_buttons
from bot.telegram.messages.pieces import (
    ACTION_TITLE,
    MAX_ALERT_ACTIONS,
    TOPIC_NAME,
    action_title,
    facts_block,
    facts_line,
    follow_up_line,
    join_blocks,
    listed,
    outlet_count,
    outlets_phrase,
    source_line,
    story_command,
    story_title,
    topic_name,
    urgency_mark,
)
from bot.telegram.messages.view import View
from bot.telegram.messages.wording import format_time, localized_action


def render_followup(story: Story, previous_urgency: Urgency, *, view: View | None = None) -> Rendered:
    """A short note that a story already alerted changed urgency (usually: it is now urgent)."""
    view = view or View()
    t = view.t
    if story.urgency is Urgency.URGENT and previous_urgency is not Urgency.URGENT:
        first = "🚨 <b>" + t.html("Now URGENT") + "</b>"
    elif story.urgency is not Urgency.URGENT and previous_urgency is Urgency.URGENT:
        first = "🔔 <b>" + t.html("No longer urgent") + "</b>"
    else:
        first = "🔔 <b>" + t.html("New reports") + "</b>"
    facts = facts_line(story, t)
    outlets = outlet_count(story, t)
    if outlets:
        facts = " · ".join(p for p in (facts, f"📰 {outlets_phrase(outlets, t)}") if p)
    lines = [
        first,
        f"<b>{story_title(story, 200, t)}</b>",
        facts,
        t.html("Full story: {command}", command=story_command(story.id)),
    ]
    text = "\n".join(line for line in lines if line)
    # Muting belongs on the alert itself; the note keeps the actions (when urgent) and the sources.
    actions = MAX_ALERT_ACTIONS if story.urgency is Urgency.URGENT else 0
    return Rendered(text, alert_buttons(story, view, actions, mute=False))


def _action_block(action: Action, view: View) -> str:
    t = view.t
    lines = [f"✍️ <b>{clip(action_title(action, t), ACTION_TITLE)}</b>"]
    text = clean_block(action.text)
    if text:
        lines.append(escape(text))
    targets = listed(action.targets, None, t)
    if targets:
        lines.append("🎯 " + t.html("Send to: {targets}", targets=targets))
    href = safe_url(action.url) if action.url else None
    if href:
        lines.append(f"🔗 {link(href, escape(host(href)))}")
    return "\n".join(lines)


def render_story_full(story: Story, *, view: View | None = None) -> list[str]:
    """/story: header, title, facts, full summary, every source with its link, every action in full.

    Split at line boundaries into messages of at most MAX_MESSAGE units, each valid HTML on its own.
    """
    view = view or View()
    t = view.t
    header = [urgency_mark(story, t), t.html("story {id}", id=f"#{story.id}")]
    if story.topics:
        header.append(clip(topic_name(story.topics[0], view), TOPIC_NAME))
    head = [" · ".join(header), f"<b>{story_title(story, 1000, t)}</b>", follow_up_line(story, t)]
    if story.first_seen and story.last_seen:
        head.append(
            t.html("First seen {first}, last update {last}", first=format_time(story.first_seen, view),
                   last=format_time(story.last_seen, view))
        )
    elif story.first_seen:
        head.append(t.html("First seen {first}", first=format_time(story.first_seen, view)))
    blocks = ["\n".join(line for line in head if line), facts_block(story, view)]
    summary = clean_block(story.summary)
    if summary:
        blocks.append(escape(summary))
    blocks.append(_sources_block(story, view))
    if story.actions:
        first, *others = (_action_block(localized_action(story, a, view), view) for a in story.actions)
        blocks.append("<b>" + t.html("What you can do") + "</b>\n" + first)
        blocks.extend(others)
    return fit_html(blocks)


def _sources_block(story: Story, view: View) -> str:
    t = view.t
    if not story.sources:
        return t.html("No sources recorded.")
    head = "📚 <b>" + t.html("Sources") + "</b> (" + t.nhtml("{n} report", "{n} reports", len(story.sources)) + ")"
    lines = [head, *(source_line(n, source, view) for n, source in enumerate(story.sources, 1))]
    return "\n".join(lines)


def render_sources(story: Story, *, view: View | None = None) -> list[str]:
    """Every source of a story, one numbered line each with its link, over as many messages as needed."""
    view = view or View()
    t = view.t
    head = "📚 " + t.html("Sources of {story}: {title}", story=story_command(story.id),
                           title=f"<b>{story_title(story, 200, t)}</b>")
    lines = [source_line(n, source, view) for n, source in enumerate(story.sources, 1)]
    return fit_html([head, "\n".join(lines) or t.html("No sources recorded.")])


def render_action_card(story: Story, action: Action, *, view: View | None = None, limit: int = MAX_MESSAGE) -> str:
    """An action in full: title, the story it is for, its text in a <pre> block to copy, targets, link."""
    view = view or View()
    t = view.t
    action = localized_action(story, action, view)
    head = "\n".join(
        (
            f"✍️ <b>{clip(action_title(action, t), ACTION_TITLE)}</b>",
            t.html("For {story}: {title}", story=story_command(story.id), title=f"<i>{story_title(story, 200, t)}</i>"),
        )
    )
    tail_lines: list[str] = []
    targets = [clean(x) for x in action.targets if clean(x)]
    if targets:
        tail_lines.append("<b>" + t.html("Send to") + "</b> " + t.html("(tap to copy)"))
        tail_lines.extend(f"<code>{clip(x, 200)}</code>" for x in targets[:20])
        if len(targets) > 20:
            tail_lines.append(f"+{len(targets) - 20}")
    href = safe_url(action.url) if action.url else None
    if href:
        tail_lines.append(f"🔗 {link(href, escape(host(href)))}")
    tail = "\n".join(tail_lines)
    text = clean_block(action.text)
    room = limit - utf16_len(join_blocks((head, tail))) - 4 - len("<pre></pre>")
    body = f"<pre>{clip(text, room)}</pre>" if text and room >= SUMMARY_MIN else ""
    return join_blocks((head, body, tail))
