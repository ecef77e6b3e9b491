"""Replies to a chat's own commands: the menu and /help, /subscribe, /settings, /language, /pause, /list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.domain import Chat, ChatSettings, DeliveryMode, Topic
from bot.i18n import LANGUAGES, N_, NATIVE_NAMES, translator
from bot.telegram.callbacks import (
    Button,
    Rendered,
    settings_callback,
    subscribe_callback,
)
from bot.telegram.html import (
    clean,
    clip,
    clip_plain,
    escape,
    fit_html,
)
from bot.telegram.messages.pieces import TOPIC_NAME, topic_name
from bot.telegram.messages.view import View
from bot.telegram.messages.wording import format_time

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
        name = clip(topic_name(topic.id, view) if topic.id in view.topic_names else clean(topic.name), TOPIC_NAME)
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
    return view.t.gettext(", ").join(clip(topic_name(i, view), TOPIC_NAME) for i in ids)


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
    lines.extend(f"• {clip(topic_name(topic, view), TOPIC_NAME)} (<code>{clip(clean(topic), 64)}</code>)"
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
