"""Pieces the messages share: a story's mark, title, facts, outlets and source lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.domain import Action, Source, Story, Urgency
from bot.i18n import Translator
from bot.telegram.html import (
    clean,
    clip,
    host,
    link,
    ltr,
    safe_url,
)
from bot.telegram.messages.view import View
from bot.telegram.messages.wording import format_fact_date, format_time, people_phrase
from bot.text.dates import event_date

_FACT_ITEM = 60
_MAX_DATES = 3
TOPIC_NAME = 60
_OUTLET_NAME = 60
ACTION_TITLE = 100
BUTTON_LABEL = 40
MAX_ALERT_ACTIONS = 3


def story_command(story_id: int) -> str:
    """The tappable command that opens a story: '/story_12'."""
    return f"/story_{story_id}"


def urgency_mark(story: Story, t: Translator) -> str:
    if story.urgency is Urgency.URGENT:
        return "🚨 <b>" + t.html("URGENT") + "</b>"
    return "🔔 <b>" + t.html("Update") + "</b>"


def story_title(story: Story, limit: int, t: Translator) -> str:
    return clip(clean(story.title) or t.gettext("(untitled story)"), limit)


def topic_name(topic_id: str, view: View) -> str:
    return clean(view.topic_names.get(topic_id, "")) or clean(topic_id)


def follow_up_line(story: Story, t: Translator) -> str:
    if story.follow_up_of is None:
        return ""
    return "↪️ " + t.html("Follow-up to {story}", story=story_command(story.follow_up_of))


def _unique(values: Sequence[str]) -> list[str]:
    unique: list[str] = []
    seen: set[str] = set()
    for value in values:
        item = clean(value)
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            unique.append(item)
    return unique


def listed(values: Sequence[str], most: int | None, t: Translator, item_limit: int = _FACT_ITEM) -> str:
    """Escaped, cleaned, de-duplicated items joined by the language's comma; beyond `most`, '+N'."""
    unique = _unique(values)
    shown = unique if most is None else unique[:most]
    text = t.gettext(", ").join(clip(item, item_limit) for item in shown)
    if len(unique) > len(shown):
        text += f" +{len(unique) - len(shown)}"
    return text


def outlets_of(sources: Sequence[Source], t: Translator) -> list[tuple[str, str]]:
    """(outlet name, link) once per outlet in story order; the link is the outlet's first web link."""
    order: list[str] = []
    names: dict[str, str] = {}
    links: dict[str, str] = {}
    for source in sources:
        name = clean(source.outlet) or clean(source.feed) or host(source.link) or t.gettext("unnamed outlet")
        key = name.casefold()
        if key not in names:
            order.append(key)
            names[key] = name
        if key not in links and safe_url(source.link):
            links[key] = source.link
    return [(names[key], links.get(key, "")) for key in order]


def outlet_count(story: Story, t: Translator) -> int:
    # facts.outlets is the merged story's count; a story built without facts falls back to its sources.
    return story.facts.outlets or len(outlets_of(story.sources, t))


def outlets_phrase(n: int, t: Translator) -> str:
    return t.nhtml("{n} outlet", "{n} outlets", n)


def facts_block(story: Story, view: View) -> str:
    """Every fact on its own labelled line (the full story)."""
    t, facts = view.t, story.facts
    lines: list[str] = []
    people = people_phrase(facts, t)
    if people:
        lines.append(f"👥 {people}")
    places = listed(facts.places, None, t)
    if places:
        lines.append("📍 " + t.html("Places: {places}", places=places))
    dates = [format_fact_date(d, t) for d in dict.fromkeys(facts.dates) if d.strip()]
    if dates:
        lines.append("📅 " + t.html("Dates: {dates}", dates=t.gettext(", ").join(dates)))
    reporters = listed(facts.reporters, None, t)
    if reporters:
        lines.append("🗣️ " + t.html("Reported by: {reporters}", reporters=reporters))
    outlets = outlet_count(story, t)
    if outlets:
        lines.append(f"📰 {outlets_phrase(outlets, t)}")
    return "\n".join(lines)


def facts_line(story: Story, t: Translator) -> str:
    """The alert's one line of facts: people · places · date."""
    parts: list[str] = []
    people = people_phrase(story.facts, t)
    if people:
        parts.append(f"👥 {people}")
    places = listed(story.facts.places, 2, t, 30)
    if places:
        parts.append(f"📍 {places}")
    dates = [d for d in dict.fromkeys(story.facts.dates) if event_date(d) is not None]
    if dates:
        parts.append(f"📅 {format_fact_date(sorted(dates)[-1], t)}")
    return " · ".join(parts)


def source_line(number: int, source: Source, view: View) -> str:
    """'3. <a href>Title</a> — Outlet · 12 Oct 2023 08:30 UTC' on one line; a non-web link as <code>."""
    t = view.t
    title = clip(clean(source.title) or t.gettext("(untitled)"), 300)
    outlet = clip(clean(source.outlet) or clean(source.feed) or t.gettext("unnamed outlet"), _OUTLET_NAME)
    line = f"{number}. {link(source.link, title)} — {outlet} · {format_time(source.published, view)}"
    if safe_url(source.link) is None and clean(source.link):
        # Shown, not linked: a reader can see what the feed gave, and nothing can be clicked.
        line += f" · <code>{clip(clean(source.link), 100)}</code>"
    return ltr(line)


def join_blocks(blocks: Iterable[str]) -> str:
    return "\n\n".join(b for b in blocks if b)


def action_title(action: Action, t: Translator) -> str:
    return clean(action.title) or t.gettext("Take action")
