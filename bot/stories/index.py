"""The open stories' vectors as matrices, so a report is compared with all of them in one product.

`assign.place` asks which stories could reach a threshold before it scores them one by one: a story's score
blends its closest kept member and its centre, so it is never above the larger of the two, and a story whose
kept members and centre are all below the lowest threshold can be neither joined nor followed. With
thousands of open stories (a first poll of many feeds) a report then costs two matrix products, not a
Python loop over every story (bench/story_cost.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bot.stories.similarity import DIMENSIONS, Vector

_GROWTH = 256


class VectorIndex:
    """Kept member vectors (each row owned by a story; rows of dropped members masked out) and story centres."""

    def __init__(self) -> None:
        self._members = np.zeros((_GROWTH, DIMENSIONS), dtype=np.float32)
        self._owner = np.full(_GROWTH, -1, dtype=np.int64)  # position of the owning story, -1: masked
        self._used = 0
        self._centres = np.zeros((_GROWTH, DIMENSIONS), dtype=np.float32)
        self._stories: list[int] = []  # story ids by position
        self._position: dict[int, int] = {}
        # story id -> (row, the vector object in that row): the objects are the story's own, so a member the
        # story no longer keeps is found by identity, whatever rule decided to drop it.
        self._rows: dict[int, list[tuple[int, Vector]]] = {}

    def sync(self, story_id: int, vectors: Sequence[Vector], centre: Vector) -> None:
        """Index the story as it is now: its kept members' vectors and its centre."""
        position = self._position.get(story_id)
        if position is None:
            position = self._add_story(story_id)
        current = {id(v): v for v in vectors}
        kept: list[tuple[int, Vector]] = []
        for row, vector in self._rows[story_id]:
            if id(vector) in current:
                kept.append((row, vector))
            else:
                self._owner[row] = -1
        indexed = {id(vector) for _, vector in kept}
        for key, vector in current.items():
            if key not in indexed:
                kept.append((self._append(vector, position), vector))
        self._rows[story_id] = kept
        norm = float(np.linalg.norm(centre))
        self._centres[position] = centre / norm if norm > 0 else 0.0

    def remove(self, story_id: int) -> None:
        """The story is gone (merged into another): none of its rows is reachable any more."""
        for row, _ in self._rows.pop(story_id, []):
            self._owner[row] = -1
        position = self._position.get(story_id)
        if position is not None:
            self._centres[position] = 0.0

    def reachable(self, vector: Vector, floor: float) -> set[int]:
        """The stories whose closest kept member or centre is at least `floor` alike to `vector`."""
        found: set[int] = set()
        if self._used:
            sims: npt.NDArray[np.float32] = self._members[: self._used] @ vector
            owners = self._owner[: self._used]
            found.update(self._stories[int(p)] for p in np.unique(owners[(sims >= floor) & (owners >= 0)]))
        count = len(self._stories)
        if count:
            found.update(self._stories[int(p)] for p in np.nonzero(self._centres[:count] @ vector >= floor)[0])
        return found

    def _add_story(self, story_id: int) -> int:
        position = len(self._stories)
        if position == self._centres.shape[0]:
            self._centres = np.vstack([self._centres, np.zeros_like(self._centres)])
        self._stories.append(story_id)
        self._position[story_id] = position
        self._rows[story_id] = []
        return position

    def _append(self, vector: Vector, position: int) -> int:
        if self._used == self._members.shape[0]:
            self._members = np.vstack([self._members, np.zeros_like(self._members)])
            self._owner = np.concatenate([self._owner, np.full(self._owner.shape[0], -1, dtype=np.int64)])
        row = self._used
        self._members[row] = vector
        self._owner[row] = position
        self._used += 1
        return row
