"""The alert, sized for a phone, with its buttons; the pointer left when a story merged; the forum note."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain import Story
from bot.i18n import Translator
from bot.telegram.callbacks import (
    Button,
    Rendered,
    action_callback,
    mute_callback,
    sources_callback,
)
from bot.telegram.html import (
    clean,
    clip,
    clip_plain,
    escape,
    link,
    visible,
)
from bot.telegram.messages.pieces import (
    BUTTON_LABEL,
    MAX_ALERT_ACTIONS,
    action_title,
    facts_line,
    follow_up_line,
    join_blocks,
    outlet_count,
    outlets_of,
    story_command,
    story_title,
    topic_name,
    urgency_mark,
)
from bot.telegram.messages.view import View
from bot.telegram.messages.wording import localized_action
from bot.text.sentences import split_sentences

# What a phone shows without scrolling, with the buttons below: about 800 characters of text.
ALERT_VISIBLE = 800
# The title is cut to this many visible characters: two or three lines on a phone.
TITLE_CHARS = 160
# The summary takes at most this, and at most two sentences; below SUMMARY_MIN it is left out.
SUMMARY_CHARS = 320
SUMMARY_MIN = 40
_SUMMARY_SENTENCES = 2
# Outlets named in the alert (the rest are counted) and the longest href an alert links through.
_ALERT_OUTLETS = 3
_ALERT_OUTLET_NAME = 30
_ALERT_HREF = 400
_HEADER_TOPIC = 40
# Kept for callers that bound titles elsewhere (the full story shows up to this much).
TITLE_UNITS = 300


def _alert_outlets(story: Story, t: Translator) -> str:
    outlets = outlets_of(story.sources, t)
    if not outlets:
        return ""
    shown = [link(url, clip(name, _ALERT_OUTLET_NAME), _ALERT_HREF) for name, url in outlets[:_ALERT_OUTLETS]]
    names = t.gettext(", ").join(shown)
    total = max(outlet_count(story, t), len(outlets))
    more = total - len(shown)
    if more > 0:
        return "📰 " + t.nhtml("{names} and {n} more", "{names} and {n} more", more, names=names)
    return f"📰 {names}"


def _short_summary(story: Story, room: int) -> str:
    """The summary's first one or two sentences within `room` visible characters, as plain text."""
    summary = clean(story.summary)
    if not summary or room < SUMMARY_MIN:
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
    header = [urgency_mark(story, t)]
    if story.topics:
        header.append(clip(topic_name(story.topics[0], view), _HEADER_TOPIC))
    title = f"<b>{story_title(story, TITLE_CHARS, t)}</b>"
    lines = (" · ".join(header), title, follow_up_line(story, t), facts_line(story, t))
    head = "\n".join(line for line in lines if line)
    tail = "\n".join(
        line
        for line in (_alert_outlets(story, t), t.html("Full story: {command}", command=story_command(story.id)))
        if line
    )
    room = min(SUMMARY_CHARS, ALERT_VISIBLE - len(visible(join_blocks((head, tail)))) - 4)
    summary = _short_summary(story, room)
    return join_blocks((head, escape(summary) if summary else "", tail))


def alert_buttons(story: Story, view: View, actions: int, *, mute: bool = True) -> tuple[tuple[Button, ...], ...]:
    t = view.t
    rows: list[tuple[Button, ...]] = []
    for index, action in enumerate(story.actions[:actions]):
        label = clip_plain(action_title(localized_action(story, action, view), t), BUTTON_LABEL)
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
    return Rendered(_alert_text(story, view), alert_buttons(story, view, MAX_ALERT_ACTIONS))


def mute_undo_buttons(story: Story, view: View | None = None) -> tuple[tuple[Button, ...], ...]:
    """The alert's buttons after 'Mute topic' was pressed: the same, with 'Undo' in place of the mute."""
    view = view or View()
    rows = list(alert_buttons(story, view, MAX_ALERT_ACTIONS, mute=False))
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

def thread_gone_note(view: View | None = None) -> str:
    """Posted in General when the forum topic that received alerts was deleted."""
    t = (view or View()).t
    return "⚠️ " + t.html(
        "Admins: the topic where I posted alerts is gone, so alerts now arrive here in General. "
        "Send /subscribe inside another topic to move them there."
    )
