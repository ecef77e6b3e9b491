"""A story's stored state (bot.domain.StoryState) and the step's working form of it (assign.OpenStory)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.domain import OpenStoryRecord, StoryState
from bot.stories.assign import KEPT_FACTS, OpenStory, Report
from bot.stories.similarity import DIMENSIONS, from_bytes, to_bytes

# Outlets a story remembers by name, for the "reported by N outlets" fact; a story told by more keeps
# counting those it saw first. Topics are few (feeds.yaml), all kept.
KEPT_OUTLETS = 64


def to_open(record: OpenStoryRecord, state: StoryState) -> OpenStory:
    """The working form of a stored story, for `assign.place`."""
    width = DIMENSIONS * 2  # float16 bytes per vector
    vectors = [from_bytes(state.vectors[i * width:(i + 1) * width]) for i in range(len(state.members))]
    centre = np.frombuffer(state.centre, dtype="<f4").astype(np.float32) if state.centre else np.zeros(
        DIMENSIONS, dtype=np.float32
    )
    return OpenStory(
        story_id=record.story_id,
        first_published=record.first_published,
        last_published=record.last_published,
        size=state.size,
        centre=centre,
        members=list(state.members),
        vectors=vectors,
        counts=list(state.counts),
        dates=list(state.dates),
        entities=frozenset(state.entities),
        follow_up_of=record.follow_up_of,
        apart=set(record.apart),
    )


def to_state(story: OpenStory, version: str, outlets: Sequence[str], topics: Sequence[str]) -> StoryState:
    """The stored form of a story after a batch changed it."""
    return StoryState(
        version=version,
        size=story.size,
        centre=np.asarray(story.centre, dtype="<f4").tobytes(),
        members=tuple(story.members),
        vectors=b"".join(to_bytes(v) for v in story.vectors),
        counts=tuple(story.counts[:KEPT_FACTS]),
        dates=tuple(story.dates[:KEPT_FACTS]),
        entities=tuple(sorted(story.entities)),
        outlets=tuple(dict.fromkeys(outlets))[:KEPT_OUTLETS],
        topics=tuple(dict.fromkeys(topics)),
    )


def rebuilt(record: OpenStoryRecord, reports: Sequence[Report], size: int) -> OpenStory:
    """A story's working form made again from its kept members' reports (its state was missing or made
    with another analysis version). The centre of a large story is estimated from the members read."""
    story = OpenStory.empty(record.story_id, record.first_published)
    story.follow_up_of = record.follow_up_of
    story.apart = set(record.apart)
    for report in sorted(reports, key=lambda r: (r.published, r.item_id)):
        story.absorb(report)
    if story.size and size > story.size:
        story.centre = story.centre * (size / story.size)
        story.size = size
    story.first_published = min(story.first_published, record.first_published)
    story.last_published = max(story.last_published, record.last_published)
    return story
