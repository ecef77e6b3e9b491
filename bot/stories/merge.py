"""Admins' corrections of the story step: join two stories, or move one report out into its own story.

Both edit what was already sent as the step's own merges do (the merged story's alerts become pointers,
the kept story's alerts are edited), and both are kept: a merged story is gone for good, and two stories
split apart are never merged again by a later report (story_apart).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.storage.items import StoredItem
from bot.storage.unit_of_work import UnitOfWork
from bot.stories.assign import OpenStory, Report
from bot.stories.step import Extras, StoryRules, fresh_analyses, merge_stored, opened, save_story


class Refused(Exception):
    """A correction that cannot be made as asked: `template` is the sentence for the admin (a msgid of
    bot.i18n) with {names} filled from `values`."""

    def __init__(self, template: str, /, **values: str) -> None:
        self.template = template
        self.values = values
        super().__init__(template.format(**values))


def merge_stories(uow: UnitOfWork, rules: StoryRules, a: int, b: int, now: datetime) -> int:
    """Join stories `a` and `b` (either may be an old id of a merged story) into the older; returns its id."""
    uow.feeds.lock_stories()
    first, second = _resolved(uow, a), _resolved(uow, b)
    if first == second:
        raise Refused("Stories {a} and {b} are already one story (#{story}).", a=str(a), b=str(b),
                         story=str(first))
    into_id, from_id = min(first, second), max(first, second)
    extras: dict[int, Extras] = {}
    into = opened(uow, uow.stories.open_story(into_id), rules, extras)
    other = opened(uow, uow.stories.open_story(from_id), rules, extras)
    into.apart.discard(from_id)
    other.apart.discard(into_id)
    into.merge(other)
    extras[into_id].add(extras[from_id].outlets, extras[from_id].topics)
    uow.stories.forget_apart(into_id, from_id)
    merge_stored(uow, from_id, into_id, now)
    save_story(uow, into, extras[into_id], {}, rules, now)  # more sources: its alerts are edited
    return into_id


def split_story(uow: UnitOfWork, rules: StoryRules, story_id: int, source: str, now: datetime) -> int:
    """Move the report `source` (its number in the story's source list, or its link) out of story
    `story_id` into a story of its own, kept apart from it; returns the new story's id."""
    uow.feeds.lock_stories()
    story_id = _resolved(uow, story_id)
    sources = uow.stories.sources(story_id)
    if len(sources) < 2:
        raise Refused("Story {story} has only one source: there is nothing to split.", story=str(story_id))
    chosen = _source(sources, source)
    if chosen is None:
        raise Refused(
            "Story {story} has no source {source}. Give its number in /story_{story} (1 to {count}) or its link.",
            story=str(story_id), source=source, count=str(len(sources)),
        )
    # Its analysis as the step would read it: made again (and stored) when stale.
    ((_, report_analysis),) = fresh_analyses(uow, uow.analyses.items([chosen.id]), rules)
    record = uow.stories.open_story(story_id)
    # The new story: the report alone, following nothing.
    alone = OpenStory.empty(0, chosen.item.published)
    alone.absorb(Report(chosen.id, chosen.item.published, report_analysis))
    extra = Extras()
    extra.add([chosen.item.outlet], chosen.topics)
    new_id, _ = save_story(uow, alone, extra, {chosen.id: (chosen, report_analysis)}, rules, now)
    uow.stories.attach(chosen.id, new_id)
    uow.analyses.placed([chosen.id])
    uow.stories.keep_apart(story_id, new_id)
    # The old story without it, rebuilt from its remaining members.
    extras: dict[int, Extras] = {}
    rest = opened(uow, replace(record, state=None), rules, extras)
    rest.apart.add(new_id)
    save_story(uow, rest, extras[story_id], {}, rules, now)  # one source fewer: its alerts are edited
    return new_id


def _resolved(uow: UnitOfWork, story_id: int) -> int:
    try:
        return uow.stories.resolve(story_id)
    except KeyError:
        raise Refused("There is no story {story}.", story=str(story_id)) from None


def _source(sources: list[StoredItem], source: str) -> StoredItem | None:
    """The source named by its 1-based number or its link, or None."""
    if source.isdigit():
        index = int(source) - 1
        return sources[index] if 0 <= index < len(sources) else None
    return next((s for s in sources if s.item.link and s.item.link == source), None)
