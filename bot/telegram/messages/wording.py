"""Dates, numbers, facts and feeds.yaml's action templates in the reader's language."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.domain import Action, Facts, Story
from bot.i18n import Translator, translator
from bot.telegram.html import (
    clean,
    clip,
    escape,
)
from bot.telegram.messages.view import View
from bot.text.dates import event_date


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


def people_phrase(facts: Facts, t: Translator) -> str:
    count = _count(facts, t)
    if not count:
        return ""
    return t.nhtml("{count} person", "{count} people", facts.count_high or 0, count=count)


# --- action templates in the reader's language ---------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _date_phrase(dates: Sequence[str], t: Translator) -> str:
    parsed = [d for d in (event_date(v) for v in dates) if d is not None]
    if not parsed:
        return t.gettext("recently")
    # The first date is the one most sources give (bot.stories.facts.merge_facts), as in the English text
    # (bot.stories.actions): a later one may be another event the sources mention.
    day, has_day = parsed[0]
    if has_day:
        return t.gettext("on {date}").format(date=t.day(day))
    return t.gettext("in {month}").format(month=t.month(day))


def fill_template(template: str, facts: Facts, t: Translator) -> str:
    """An action template from feeds.yaml with {count} {places} {date} {reporters} in the reader's language."""
    places = [clean(p) for p in dict.fromkeys(facts.places) if clean(p)]
    reporters = [clean(r) for r in dict.fromkeys(facts.reporters) if clean(r)]
    values = {
        "count": _count(facts, t) or t.gettext("an unknown number of"),
        # Unknown facts read as unknown, as in bot.stories.actions: a guess would state what no source said.
        "places": t.join(places[:3]) or t.gettext("an unknown place"),
        "date": _date_phrase(facts.dates, t),
        "reporters": t.join(reporters[:3]) or t.gettext("sources"),
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
