"""Every message the bot writes, as Telegram HTML in the reader's language: pure functions of records.

A `View` says who reads: their language (a bot.i18n Translator), their time zone, and the topic and action
names of feeds.yaml in that language. The bot's own words come from the gettext catalogues; feed text
(titles, summaries, outlet names) stays as the outlet wrote it, cleaned and escaped (bot.telegram.html).
Buttons are plain `Button` records (bot.telegram.callbacks); the sender turns them into a keyboard.

An alert is sized for a phone: at most ALERT_VISIBLE characters a reader sees (title, one facts line, a
summary of one or two sentences, the outlets, the story's command), with the actions as buttons that open
their cards. The full story, the sources and the action cards are messages of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.domain import Action, Chat, ChatSettings, DeliveryMode, Facts, Source, Story, Topic, Urgency
from bot.i18n import LANGUAGES, N_, NATIVE_NAMES, Translator, translator
from bot.summarize import split_sentences
from bot.telegram.callbacks import (
    MAX_CALLBACK_BYTES,
    ActionCallback,
    Button,
    Callback,
    MuteCallback,
    Rendered,
    SourcesCallback,
    action_callback,
    mute_callback,
    parse_callback,
    parse_settings_callback,
    parse_subscribe_callback,
    settings_callback,
    sources_callback,
    subscribe_callback,
)
from bot.telegram.html import (
    ALLOWED_TAGS,
    ELLIPSIS,
    MAX_MESSAGE,
    clean,
    clean_block,
    clip,
    clip_plain,
    escape,
    fit_html,
    host,
    link,
    ltr,
    safe_url,
    utf16_len,
    visible,
)
from bot.text.dates import event_date

if TYPE_CHECKING:  # records of the command replies; only their attributes are read here
    from bot.config import Config
    from bot.services import FeedHealth, ReloadResult, Status

__all__ = [  # the helpers other modules and tests take from here, besides the renderers
    "ALLOWED_TAGS",
    "ELLIPSIS",
    "MAX_CALLBACK_BYTES",
    "MAX_MESSAGE",
    "ActionCallback",
    "Button",
    "Callback",
    "MuteCallback",
    "Rendered",
    "SourcesCallback",
    "action_callback",
    "clean",
    "clip",
    "clip_plain",
    "escape",
    "fit_html",
    "mute_callback",
    "parse_callback",
    "parse_settings_callback",
    "parse_subscribe_callback",
    "safe_url",
    "sources_callback",
    "utf16_len",
    "visible",
]

# =====================================================================================================
# Who reads
# =====================================================================================================


@dataclass(frozen=True, slots=True)
class View:
    """The reader: language, time zone, and feeds.yaml's topic names and action templates in that language.

    `actions` maps an action id to its (title, text) templates in the language; an action without one is
    shown as the pipeline filled it (in English).
    """

    t: Translator = field(default_factory=lambda: translator("en"))
    zone: str = "UTC"
    topic_names: Mapping[str, str] = field(default_factory=dict)
    actions: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def language(self) -> str:
        """The reader's language: "en", "ko" or "zh-Hans"."""
        return self.t.language


def view_for(language: str | None, zone: str = "UTC", config: Config | None = None) -> View:
    """The View for a reader of `language` in `zone`, with the names of `config` (when given) translated."""
    t = translator(language)
    if config is None:
        return View(t, zone)
    names = {topic.id: dict(topic.names).get(t.language, topic.name) for topic in config.topics}
    actions = {
        rule.id: (title, text)
        for rule in config.actions
        for lang, title, text in rule.translations
        if lang == t.language
    }
    return View(t, zone, names, actions)


def chat_view(chat: Chat | None, config: Config | None = None, *, language: str | None = None) -> View:
    """The View of a stored chat (its language and time zone); `language` for a chat not stored yet."""
    if chat is None:
        return view_for(language, "UTC", config)
    return view_for(chat.settings.language, chat.settings.timezone, config)


# =====================================================================================================
# Dates, numbers and facts in the reader's language
# =====================================================================================================

def format_fact_date(value: str, t: Translator | None = None) -> str:
    """'2023-10-09' -> '9 Oct 2023' (in the reader's language), '2023-10' -> 'Oct 2023'; else escaped as given."""
    t = t or translator("en")
    parsed = event_date(value)
    if parsed is None:
        return clip(clean(value), 24)
    day, has_day = parsed
    return escape(t.day(day) if has_day else t.month(day))


def format_time(moment: datetime, view: View | None = None) -> str:
    """'12 Oct 2023 08:30 UTC' in the reader's language and time zone."""
    view = view or View()
    return escape(view.t.moment(moment, view.zone))


def format_day(moment: datetime, view: View | None = None) -> str:
    """The day of `moment` in the reader's time zone: '12 Oct 2023'."""
    view = view or View()
    return escape(view.t.local_day(moment, view.zone))


def _count(facts: Facts, t: Translator) -> str:
    """'500–600' or '600' with the language's digit grouping; '' when unknown."""
    if facts.count_low is None or facts.count_high is None:
        return ""
    if facts.count_low == facts.count_high:
        return t.number(facts.count_low)
    return f"{t.number(facts.count_low)}–{t.number(facts.count_high)}"


def _people(facts: Facts, t: Translator) -> str:
    count = _count(facts, t)
    if not count:
        return ""
    return t.nhtml("{count} person", "{count} people", facts.count_high or 0, count=count)


# --- action templates in the reader's language ---------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _date_phrase(dates: Sequence[str], t: Translator) -> str:
    parsed = sorted(d for d in (event_date(v) for v in dates) if d is not None)
    if not parsed:
        return t.gettext("recently")
    # The latest date is the one that makes the story news.
    day, has_day = parsed[-1]
    if has_day:
        return t.gettext("on {date}").format(date=t.day(day))
    return t.gettext("in {month}").format(month=t.month(day))


def fill_template(template: str, facts: Facts, t: Translator) -> str:
    """An action template from feeds.yaml with {count} {places} {date} {reporters} in the reader's language."""
    places = [clean(p) for p in dict.fromkeys(facts.places) if clean(p)]
    reporters = [clean(r) for r in dict.fromkeys(facts.reporters) if clean(r)]
    values = {
        "count": _count(facts, t) or t.gettext("an unknown number of"),
        "places": t.join(places[:3]) or t.gettext("the China–North Korea border"),
        "date": _date_phrase(facts.dates, t),
        "reporters": t.join(reporters[:3]) or t.gettext("rights groups"),
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def localized_action(story: Story, action: Action, view: View) -> Action:
    """`action` with its title and text in the reader's language when feeds.yaml translates it."""
    templates = view.actions.get(action.id)
    if templates is None:
        return action
    title, text = templates
    t = view.t
    return replace(action, title=fill_template(title, story.facts, t), text=fill_template(text, story.facts, t))


# =====================================================================================================
# Pieces shared by the renderers
# =====================================================================================================

_FACT_ITEM = 60
_MAX_DATES = 3
_TOPIC_NAME = 60
_OUTLET_NAME = 60
_ACTION_TITLE = 100
_BUTTON_LABEL = 40
MAX_ALERT_ACTIONS = 3


def story_command(story_id: int) -> str:
    """The tappable command that opens a story: '/story_12'."""
    return f"/story_{story_id}"


def _mark(story: Story, t: Translator) -> str:
    if story.urgency is Urgency.URGENT:
        return "🚨 <b>" + t.html("URGENT") + "</b>"
    return "🔔 <b>" + t.html("Update") + "</b>"


def _title(story: Story, limit: int, t: Translator) -> str:
    return clip(clean(story.title) or t.gettext("(untitled story)"), limit)


def _topic_name(topic_id: str, view: View) -> str:
    return clean(view.topic_names.get(topic_id, "")) or clean(topic_id)


def _follow_up(story: Story, t: Translator) -> str:
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


def _listed(values: Sequence[str], most: int | None, t: Translator, item_limit: int = _FACT_ITEM) -> str:
    """Escaped, cleaned, de-duplicated items joined by the language's comma; beyond `most`, '+N'."""
    unique = _unique(values)
    shown = unique if most is None else unique[:most]
    text = t.gettext(", ").join(clip(item, item_limit) for item in shown)
    if len(unique) > len(shown):
        text += f" +{len(unique) - len(shown)}"
    return text


def _outlets(sources: Sequence[Source], t: Translator) -> list[tuple[str, str]]:
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


def _outlet_count(story: Story, t: Translator) -> int:
    # facts.outlets is the merged story's count; a story built without facts falls back to its sources.
    return story.facts.outlets or len(_outlets(story.sources, t))


def _outlets_phrase(n: int, t: Translator) -> str:
    return t.nhtml("{n} outlet", "{n} outlets", n)


def _facts(story: Story, view: View) -> str:
    """Every fact on its own labelled line (the full story)."""
    t, facts = view.t, story.facts
    lines: list[str] = []
    people = _people(facts, t)
    if people:
        lines.append(f"👥 {people}")
    places = _listed(facts.places, None, t)
    if places:
        lines.append("📍 " + t.html("Places: {places}", places=places))
    dates = [format_fact_date(d, t) for d in dict.fromkeys(facts.dates) if d.strip()]
    if dates:
        lines.append("📅 " + t.html("Dates: {dates}", dates=t.gettext(", ").join(dates)))
    reporters = _listed(facts.reporters, None, t)
    if reporters:
        lines.append("🗣️ " + t.html("Reported by: {reporters}", reporters=reporters))
    outlets = _outlet_count(story, t)
    if outlets:
        lines.append(f"📰 {_outlets_phrase(outlets, t)}")
    return "\n".join(lines)


def _facts_line(story: Story, t: Translator) -> str:
    """The alert's one line of facts: people · places · date."""
    parts: list[str] = []
    people = _people(story.facts, t)
    if people:
        parts.append(f"👥 {people}")
    places = _listed(story.facts.places, 2, t, 30)
    if places:
        parts.append(f"📍 {places}")
    dates = [d for d in dict.fromkeys(story.facts.dates) if event_date(d) is not None]
    if dates:
        parts.append(f"📅 {format_fact_date(sorted(dates)[-1], t)}")
    return " · ".join(parts)


def _source_line(number: int, source: Source, view: View) -> str:
    """'3. <a href>Title</a> — Outlet · 12 Oct 2023 08:30 UTC' on one line; a non-web link as <code>."""
    t = view.t
    title = clip(clean(source.title) or t.gettext("(untitled)"), 300)
    outlet = clip(clean(source.outlet) or clean(source.feed) or t.gettext("unnamed outlet"), _OUTLET_NAME)
    line = f"{number}. {link(source.link, title)} — {outlet} · {format_time(source.published, view)}"
    if safe_url(source.link) is None and clean(source.link):
        # Shown, not linked: a reader can see what the feed gave, and nothing can be clicked.
        line += f" · <code>{clip(clean(source.link), 100)}</code>"
    return ltr(line)


def _join_blocks(blocks: Iterable[str]) -> str:
    return "\n\n".join(b for b in blocks if b)


def _action_title(action: Action, t: Translator) -> str:
    return clean(action.title) or t.gettext("Take action")


# =====================================================================================================
# The alert
# =====================================================================================================

# What a phone shows without scrolling, with the buttons below: about 800 characters of text.
ALERT_VISIBLE = 800
# The title is cut to this many visible characters: two or three lines on a phone.
TITLE_CHARS = 160
# The summary takes at most this, and at most two sentences; below _SUMMARY_MIN it is left out.
SUMMARY_CHARS = 320
_SUMMARY_MIN = 40
_SUMMARY_SENTENCES = 2
# Outlets named in the alert (the rest are counted) and the longest href an alert links through.
_ALERT_OUTLETS = 3
_ALERT_OUTLET_NAME = 30
_ALERT_HREF = 400
_HEADER_TOPIC = 40
# Kept for callers that bound titles elsewhere (the full story shows up to this much).
TITLE_UNITS = 300


def _alert_outlets(story: Story, t: Translator) -> str:
    outlets = _outlets(story.sources, t)
    if not outlets:
        return ""
    shown = [link(url, clip(name, _ALERT_OUTLET_NAME), _ALERT_HREF) for name, url in outlets[:_ALERT_OUTLETS]]
    names = t.gettext(", ").join(shown)
    total = max(_outlet_count(story, t), len(outlets))
    more = total - len(shown)
    if more > 0:
        return "📰 " + t.nhtml("{names} and {n} more", "{names} and {n} more", more, names=names)
    return f"📰 {names}"


def _short_summary(story: Story, room: int) -> str:
    """The summary's first one or two sentences within `room` visible characters, as plain text."""
    summary = clean(story.summary)
    if not summary or room < _SUMMARY_MIN:
        return ""
    sentences = split_sentences(summary, story.language) or [summary]
    chosen = sentences[0]
    for sentence in sentences[1:_SUMMARY_SENTENCES]:
        joined = f"{chosen} {sentence}" if not _ends_cjk(chosen) else chosen + sentence
        if len(joined) > room:
            break
        chosen = joined
    return clip_plain(chosen, room)


def _ends_cjk(text: str) -> bool:
    return bool(text) and text[-1] in "。！？」』”"


def _alert_text(story: Story, view: View) -> str:
    t = view.t
    header = [_mark(story, t)]
    if story.topics:
        header.append(clip(_topic_name(story.topics[0], view), _HEADER_TOPIC))
    title = f"<b>{_title(story, TITLE_CHARS, t)}</b>"
    head = "\n".join(line for line in (" · ".join(header), title, _follow_up(story, t), _facts_line(story, t)) if line)
    tail = "\n".join(
        line
        for line in (_alert_outlets(story, t), t.html("Full story: {command}", command=story_command(story.id)))
        if line
    )
    room = min(SUMMARY_CHARS, ALERT_VISIBLE - len(visible(_join_blocks((head, tail)))) - 4)
    summary = _short_summary(story, room)
    return _join_blocks((head, escape(summary) if summary else "", tail))


def _alert_buttons(story: Story, view: View, actions: int, *, mute: bool = True) -> tuple[tuple[Button, ...], ...]:
    t = view.t
    rows: list[tuple[Button, ...]] = []
    for index, action in enumerate(story.actions[:actions]):
        label = clip_plain(_action_title(localized_action(story, action, view), t), _BUTTON_LABEL)
        rows.append((Button(f"✍️ {label}", callback_data=action_callback(story, index)),))
    last: list[Button] = []
    if story.sources:
        last.append(Button("📚 " + t.gettext("Sources"), callback_data=sources_callback(story)))
    if mute and story.topics:
        last.append(Button("🔕 " + t.gettext("Mute topic"), callback_data=mute_callback(story, 0)))
    if last:
        rows.append(tuple(last))
    return tuple(rows)


def render_alert(story: Story, *, view: View | None = None, topic_names: Mapping[str, str] | None = None) -> Rendered:
    """A story's alert, sized for a phone: mark and topic, title, one facts line, a short summary, the outlets
    and the story's command; buttons open each action's card (at most MAX_ALERT_ACTIONS), the sources, and
    mute the topic. At most ALERT_VISIBLE visible characters and MAX_MESSAGE UTF-16 units of HTML.

    `topic_names` (English) is for callers without a View.
    """
    if view is None:
        view = View(topic_names=dict(topic_names or {}))
    return Rendered(_alert_text(story, view), _alert_buttons(story, view, MAX_ALERT_ACTIONS))


def mute_undo_buttons(story: Story, view: View | None = None) -> tuple[tuple[Button, ...], ...]:
    """The alert's buttons after 'Mute topic' was pressed: the same, with 'Undo' in place of the mute."""
    view = view or View()
    rows = list(_alert_buttons(story, view, MAX_ALERT_ACTIONS, mute=False))
    undo = Button("↩️ " + view.t.gettext("Undo mute"), callback_data=mute_callback(story, 0, undo=True))
    if rows and rows[-1] and rows[-1][0].callback_data == sources_callback(story):
        rows[-1] = (*rows[-1], undo)
    else:
        rows.append((undo,))
    return tuple(rows)


def merged_pointer(story_id: int, into_id: int, view: View | None = None) -> Rendered:
    """What an alert is edited to when its story was merged into another: a one-line pointer."""
    t = (view or View()).t
    return Rendered("🔗 " + t.html("Now part of story {story}", story=story_command(into_id)))


# =====================================================================================================
# The follow-up note, the story in full, sources, action cards, lines and digests
# =====================================================================================================


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
    facts = _facts_line(story, t)
    outlets = _outlet_count(story, t)
    if outlets:
        facts = " · ".join(p for p in (facts, f"📰 {_outlets_phrase(outlets, t)}") if p)
    lines = [
        first,
        f"<b>{_title(story, 200, t)}</b>",
        facts,
        t.html("Full story: {command}", command=story_command(story.id)),
    ]
    text = "\n".join(line for line in lines if line)
    # Muting belongs on the alert itself; the note keeps the actions (when urgent) and the sources.
    actions = MAX_ALERT_ACTIONS if story.urgency is Urgency.URGENT else 0
    return Rendered(text, _alert_buttons(story, view, actions, mute=False))


def _action_block(action: Action, view: View) -> str:
    t = view.t
    lines = [f"✍️ <b>{clip(_action_title(action, t), _ACTION_TITLE)}</b>"]
    text = clean_block(action.text)
    if text:
        lines.append(escape(text))
    targets = _listed(action.targets, None, t)
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
    header = [_mark(story, t), t.html("story {id}", id=f"#{story.id}")]
    if story.topics:
        header.append(clip(_topic_name(story.topics[0], view), _TOPIC_NAME))
    head = [" · ".join(header), f"<b>{_title(story, 1000, t)}</b>", _follow_up(story, t)]
    if story.first_seen and story.last_seen:
        head.append(
            t.html("First seen {first}, last update {last}", first=format_time(story.first_seen, view),
                   last=format_time(story.last_seen, view))
        )
    elif story.first_seen:
        head.append(t.html("First seen {first}", first=format_time(story.first_seen, view)))
    blocks = ["\n".join(line for line in head if line), _facts(story, view)]
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
    lines = [head, *(_source_line(n, source, view) for n, source in enumerate(story.sources, 1))]
    return "\n".join(lines)


def render_sources(story: Story, *, view: View | None = None) -> list[str]:
    """Every source of a story, one numbered line each with its link, over as many messages as needed."""
    view = view or View()
    t = view.t
    head = "📚 " + t.html("Sources of {story}: {title}", story=story_command(story.id),
                           title=f"<b>{_title(story, 200, t)}</b>")
    lines = [_source_line(n, source, view) for n, source in enumerate(story.sources, 1)]
    return fit_html([head, "\n".join(lines) or t.html("No sources recorded.")])


def render_action_card(story: Story, action: Action, *, view: View | None = None, limit: int = MAX_MESSAGE) -> str:
    """An action in full: title, the story it is for, its text in a <pre> block to copy, targets, link."""
    view = view or View()
    t = view.t
    action = localized_action(story, action, view)
    head = "\n".join(
        (
            f"✍️ <b>{clip(_action_title(action, t), _ACTION_TITLE)}</b>",
            t.html("For {story}: {title}", story=story_command(story.id), title=f"<i>{_title(story, 200, t)}</i>"),
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
    room = limit - utf16_len(_join_blocks((head, tail))) - 4 - len("<pre></pre>")
    body = f"<pre>{clip(text, room)}</pre>" if text and room >= _SUMMARY_MIN else ""
    return _join_blocks((head, body, tail))


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
    parts = [story_command(story.id), _title(story, _LINE_TITLE, t)]
    outlets = _outlet_count(story, t)
    if outlets:
        parts.append(_outlets_phrase(outlets, t))
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


def thread_gone_note(view: View | None = None) -> str:
    """Posted in General when the forum topic that received alerts was deleted."""
    t = (view or View()).t
    return "⚠️ " + t.html(
        "Admins: the topic where I posted alerts is gone, so alerts now arrive here in General. "
        "Send /subscribe inside another topic to move them there."
    )


# =====================================================================================================
# Command replies: help, topics, subscriptions, settings, language, lists, feeds, status, reload
# =====================================================================================================

# (command, description) for setMyCommands and /help; descriptions are 1-256 characters (Telegram's rule)
# and translated per language when the menu is set.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("What this bot does")),
    ("help", N_("Commands, topics and how to subscribe")),
    ("subscribe", N_("Follow topics")),
    ("unsubscribe", N_("Stop topics")),
    ("list", N_("What this chat follows and how alerts arrive")),
    ("settings", N_("Immediate or daily digest, urgent only, quiet hours, time zone")),
    ("language", N_("Change the bot's language")),
    ("pause", N_("Silence alerts for a while, e.g. /pause 6h")),
    ("recent", N_("Latest stories")),
    ("story", N_("A story in full: /story ID")),
    ("search", N_("Find stories: /search WORDS")),
    ("actions", N_("What you can do about the latest urgent stories")),
    ("sources", N_("The monitored feeds and their health")),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("status", N_("Operators: queue, last poll, failing feeds, counts")),
    ("reload", N_("Operators: re-read feeds.yaml")),
)

_HELP_USAGE: dict[str, tuple[str, str]] = {
    "subscribe": ("/subscribe [topic…]", N_("follow topics (no topic: pick them from buttons)")),
    "unsubscribe": ("/unsubscribe [topic…]", N_("stop topics (no topic: stop everything)")),
    "list": ("/list", N_("what this chat follows, where and how alerts arrive")),
    "settings": ("/settings", N_("immediate alerts or a daily digest, urgent only, quiet hours, time zone")),
    "language": ("/language", N_("English, 한국어 or 简体中文")),
    "pause": ("/pause 6h", N_("no alerts for a while (30m, 6h, 2d); /pause off to resume")),
    "recent": ("/recent [N]", N_("the latest stories of your topics")),
    "story": ("/story ID", N_("one story in full: facts, summary, every source, actions")),
    "search": ("/search WORDS", N_("stories whose text has every word, newest first")),
    "actions": ("/actions", N_("what you can do about the latest urgent stories")),
    "sources": ("/sources", N_("the monitored feeds and whether each is healthy")),
    "status": ("/status", N_("queue depth, last poll, failing feeds, counts")),
    "reload": ("/reload", N_("re-read feeds.yaml (a broken file keeps the old one)")),
}
_TOPIC_LABEL = 48


def command_menu(language: str, *, admin: bool = False) -> list[tuple[str, str]]:
    """(command, description) pairs for setMyCommands in `language`."""
    t = translator(language)
    pairs = (*COMMANDS, *ADMIN_COMMANDS) if admin else COMMANDS
    return [(name, t.gettext(text)[:256]) for name, text in pairs]


def _topic_lines(topics: Sequence[Topic], view: View, subscribed: Iterable[str] = ()) -> str:
    chosen = set(subscribed)
    lines = []
    for topic in topics:
        mark = "✅" if topic.id in chosen else "•"
        name = clip(_topic_name(topic.id, view) if topic.id in view.topic_names else clean(topic.name), _TOPIC_NAME)
        lines.append(f"{mark} <code>{clip(clean(topic.id), 64)}</code> — {name}")
    return "\n".join(lines)


def render_help(topics: Sequence[Topic], *, admin: bool = False, view: View | None = None) -> list[str]:
    """/start and /help: what the bot does, its topics, its commands and how groups and channels subscribe."""
    view = view or View()
    t = view.t
    about = "<b>" + t.html("Repatriation alerts") + "</b>\n" + t.html(
        "I watch news feeds for reports of China forcibly returning North Korean escapees, gather the "
        "reports of one event into a story, and send you a short alert with the facts, the sources and "
        "actions you can take."
    )
    usage = [name for name, _ in COMMANDS if name in _HELP_USAGE]
    if admin:
        usage.extend(name for name, _ in ADMIN_COMMANDS)
    commands = ["<b>" + t.html("Commands") + "</b>"]
    commands.extend(f"{escape(_HELP_USAGE[name][0])} — {t.html(_HELP_USAGE[name][1])}" for name in usage)
    where = t.html(
        "In a group, only its admins can change subscriptions and settings; in a forum, send /subscribe inside "
        "the topic that should get the alerts. To subscribe a channel, make me an admin of it and post "
        "/subscribe there, or send me {example} here.",
        example="<code>/subscribe @channel</code>",
    )
    topics_block = "<b>" + t.html("Topics") + "</b>\n" + _topic_lines(topics, view)
    return fit_html([about, topics_block, "\n".join(commands), where])


def render_topic_picker(
    chat_id: int, topics: Sequence[Topic], subscribed: Iterable[str], *, target: str | None = None,
    view: View | None = None,
) -> Rendered:
    """The /subscribe keyboard: one button per topic, ticked when followed; a press toggles it."""
    view = view or View()
    t = view.t
    chosen = set(subscribed)
    if target:
        chat = f"<b>{clip(clean(target), 100)}</b>"
        intro = t.html("Tap a topic to follow it for {chat}, tap again to stop.", chat=chat)
    else:
        intro = t.html("Tap a topic to follow it, tap again to stop.")
    text = f"{intro}\n\n{_topic_lines(topics, view, chosen)}"
    rows = tuple(
        (
            Button(
                ("✅ " if topic.id in chosen else "➕ ")
                + clip_plain(clean(view.topic_names.get(topic.id, topic.name)) or topic.id, _TOPIC_LABEL),
                callback_data=subscribe_callback(chat_id, topics, index),
            ),
        )
        for index, topic in enumerate(topics)
    )
    return Rendered(text, rows)


def _names(ids: Iterable[str], view: View) -> str:
    return view.t.gettext(", ").join(clip(_topic_name(i, view), _TOPIC_NAME) for i in ids)


def render_subscription(
    added: Sequence[str],
    removed: Sequence[str],
    unchanged: Sequence[str],
    topics: Sequence[str],
    *,
    subscribing: bool,
    target: str | None = None,
    view: View | None = None,
    thread: bool = False,
) -> str:
    """What a /subscribe or /unsubscribe did: topics added or removed, and what the chat follows now.

    `thread`: the alerts now go to the forum topic the command was sent in.
    """
    view = view or View()
    t = view.t
    chat = f"<b>{clip(clean(target), 100)}</b>" if target else ""
    lines: list[str] = []
    if added:
        text = N_("{chat} now follows: {topics}.") if chat else N_("This chat now follows: {topics}.")
        lines.append("✅ " + t.html(text, chat=chat, topics=_names(added, view)))
    if removed:
        text = N_("{chat} stopped following: {topics}.") if chat else N_("This chat stopped following: {topics}.")
        lines.append("🔕 " + t.html(text, chat=chat, topics=_names(removed, view)))
    if unchanged:
        if subscribing:
            text = N_("{chat} already follows: {topics}.") if chat else N_("This chat already follows: {topics}.")
        else:
            text = N_("{chat} was not following: {topics}.") if chat else N_("This chat was not following: {topics}.")
        lines.append(t.html(text, chat=chat, topics=_names(unchanged, view)))
    if thread and subscribing:
        lines.append("🧵 " + t.html("Alerts will arrive in this topic."))
    if topics:
        lines.append(t.html("Topics followed: {topics}.", topics=_names(topics, view)) + " "
                     + t.html("/settings to choose how alerts arrive."))
    else:
        lines.append(t.html("No topics followed, so no alerts. /subscribe to follow one."))
    return "\n".join(lines)


def _hour(hour: int) -> str:
    return f"{hour:02d}:00"


def render_settings(
    chat_id: int,
    settings: ChatSettings,
    topics: Sequence[str],
    *,
    target: str | None = None,
    quiet_presets: Sequence[tuple[int, int]] = ((22, 7), (23, 8), (0, 8)),
    view: View | None = None,
) -> Rendered:
    """/settings: how the chat gets alerts, with buttons that change each setting (the current one ticked)."""
    view = view or View()
    t = view.t
    zone = clip(clean(settings.timezone), 64)
    digest = settings.mode is DeliveryMode.DIGEST
    if digest:
        when = t.html("one daily digest at {hour} ({zone})", hour=_hour(settings.digest_hour), zone=zone)
    else:
        when = t.html("each story as it breaks")
    which = t.html("urgent stories only") if settings.urgent_only else t.html("all stories")
    if settings.quiet_start is not None and settings.quiet_end is not None:
        quiet = t.html("{start}–{end} ({zone}), alerts arrive silently", start=_hour(settings.quiet_start),
                       end=_hour(settings.quiet_end), zone=zone)
    else:
        quiet = t.html("none")
    title = "⚙️ <b>" + t.html("Settings") + "</b>"
    if target:
        title = "⚙️ <b>" + t.html("Settings of {chat}", chat=clip(clean(target), 100)) + "</b>"
    lines = [
        title,
        t.html("Delivery: {value}", value=when),
        t.html("Stories: {value}", value=which),
        t.html("Quiet hours: {value}", value=quiet),
        t.html("Time zone: {zone} — change it with {example} (any IANA name)", zone=zone,
               example="<code>/settings tz Asia/Seoul</code>"),
        t.html("Language: {language} — /language", language=escape(NATIVE_NAMES.get(view.language, "English"))),
        t.html("Topics: {topics}", topics=_names(topics, view) or t.html("none (/subscribe)")),
    ]

    def button(label: str, selected: bool, *words: str) -> Button:
        return Button(("✅ " if selected else "") + label, callback_data=settings_callback(chat_id, *words))

    rows: list[tuple[Button, ...]] = [
        (button(t.gettext("Each story"), not digest, "immediate"), button(t.gettext("Daily digest"), digest, "digest")),
    ]
    if digest:
        earlier, later = (settings.digest_hour - 1) % 24, (settings.digest_hour + 1) % 24
        rows.append(
            (button(f"◀ {_hour(earlier)}", False, "hour", str(earlier)),
             button(f"{_hour(later)} ▶", False, "hour", str(later)))
        )
    rows.append((button(t.gettext("All stories"), not settings.urgent_only, "all"),
                 button(t.gettext("Urgent only"), settings.urgent_only, "urgent")))
    current = (settings.quiet_start, settings.quiet_end)
    quiet_row = [button(t.gettext("No quiet hours"), current == (None, None), "quiet", "off")]
    quiet_row.extend(
        button(f"{start:02d}–{end:02d}", current == (start, end), "quiet", f"{start}-{end}")
        for start, end in quiet_presets
    )
    rows.append(tuple(quiet_row))
    return Rendered("\n".join(lines), tuple(rows))


def render_language_picker(chat_id: int, *, target: str | None = None, view: View | None = None) -> Rendered:
    """/language: the languages as buttons, the current one ticked."""
    view = view or View()
    t = view.t
    if target:
        text = t.html("Choose the language I use in {chat}.", chat=f"<b>{clip(clean(target), 100)}</b>")
    else:
        text = t.html("Choose the language I use in this chat.")
    row = tuple(
        Button(("✅ " if language == view.language else "") + NATIVE_NAMES[language],
               callback_data=settings_callback(chat_id, "lang", language.lower()))
        for language in LANGUAGES
    )
    return Rendered("🌐 " + text, (row,))


def render_language_changed(view: View) -> str:
    """The reply once a chat's language changed, in the new language."""
    return "🌐 " + view.t.html("I will write to this chat in English.")


def render_pause(chat_id: int, paused_until: datetime | None, settings: ChatSettings, *, view: View | None = None,
                 now: datetime | None = None) -> Rendered:
    """/pause: whether alerts are paused and until when, where they wait, with buttons to pause or resume."""
    view = view or View()
    t = view.t
    if paused_until is not None and (now is None or paused_until > now):
        lines = ["⏸ " + t.html("Alerts are paused until {time}.", time=format_time(paused_until, view))]
        if settings.mode is DeliveryMode.DIGEST:
            lines.append(t.html("The digest waits too; the next one covers the pause."))
        else:
            lines.append(t.html("New alerts wait and arrive when the pause ends."))
    else:
        lines = ["▶️ " + t.html("Alerts are not paused.")]
    lines.append(t.html("Type {example} for any other length (30m, 6h, 2d, up to 30 days).",
                        example="<code>/pause 12h</code>"))
    row = tuple(
        Button(label, callback_data=settings_callback(chat_id, "pause", word))
        for label, word in (("1h", "1h"), ("6h", "6h"), ("24h", "24h"), ("7d", "7d"))
    )
    resume = (Button("▶️ " + t.gettext("Resume now"), callback_data=settings_callback(chat_id, "pause", "off")),)
    return Rendered("\n".join(lines), (row, resume))


def render_list(chat: Chat | None, *, view: View | None = None, now: datetime | None = None) -> str:
    """/list: what the chat follows, where alerts go, how they arrive, and whether they are paused."""
    view = view or View()
    t = view.t
    if chat is None or not chat.topics:
        return "📋 " + t.html("This chat follows no topics. /subscribe to follow one.")
    lines = ["📋 <b>" + t.html("This chat follows") + "</b>"]
    lines.extend(f"• {clip(_topic_name(topic, view), _TOPIC_NAME)} (<code>{clip(clean(topic), 64)}</code>)"
                 for topic in chat.topics)
    settings = chat.settings
    if settings.mode is DeliveryMode.DIGEST:
        lines.append("🗞 " + t.html("one daily digest at {hour} ({zone})", hour=_hour(settings.digest_hour),
                                     zone=clip(clean(settings.timezone), 64)))
    else:
        lines.append("⚡ " + t.html("each story as it breaks"))
    if settings.urgent_only:
        lines.append("🚨 " + t.html("urgent stories only"))
    if chat.thread_id is not None:
        lines.append("🧵 " + t.html("Alerts go to the forum topic where /subscribe was sent."))
    if chat.paused_until is not None and (now is None or chat.paused_until > now):
        lines.append("⏸ " + t.html("Alerts are paused until {time}.", time=format_time(chat.paused_until, view)))
    lines.append(t.html("Change: /subscribe, /unsubscribe, /settings, /language, /pause"))
    return "\n".join(lines)


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
            title = _action_title(localized_action(story, action, view), t)
            lines.append(f"✍️ {clip(title, _ACTION_TITLE)}")
            label = f"✍️ #{story.id} · " + clip_plain(title, _BUTTON_LABEL)
            rows.append((Button(label, callback_data=action_callback(story, index)),))
        blocks.append("\n".join(lines))
    if len(blocks) == 1:
        return Rendered(t.html("No actions suggested for recent urgent stories. /recent lists the latest stories."))
    blocks.append(t.html("Tap an action to read its text, ready to copy."))
    (text, *_) = fit_html(blocks)
    return Rendered(text, tuple(rows))


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
