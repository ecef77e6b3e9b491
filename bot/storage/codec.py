"""JSON and text forms of the records stored whole in a column: facts, actions, a story's state."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from bot.domain import Action, Facts, StoryState


def facts_json(facts: Facts) -> str:
    return json.dumps(
        {
            "count_low": facts.count_low,
            "count_high": facts.count_high,
            "places": list(facts.places),
            "dates": list(facts.dates),
            "reporters": list(facts.reporters),
            "outlets": facts.outlets,
        },
        ensure_ascii=False,
    )


def facts_from_json(text: str) -> Facts:
    data: dict[str, Any] = json.loads(text)
    return Facts(
        count_low=data.get("count_low"),
        count_high=data.get("count_high"),
        places=tuple(data.get("places", ())),
        dates=tuple(data.get("dates", ())),
        reporters=tuple(data.get("reporters", ())),
        outlets=int(data.get("outlets", 0)),
    )


def actions_json(actions: Sequence[Action]) -> str:
    return json.dumps(
        [
            {"id": a.id, "title": a.title, "text": a.text, "url": a.url, "targets": list(a.targets)}
            for a in actions
        ],
        ensure_ascii=False,
    )


def actions_from_json(text: str) -> tuple[Action, ...]:
    return tuple(
        Action(id=a["id"], title=a["title"], text=a["text"], url=a.get("url"), targets=tuple(a.get("targets", ())))
        for a in json.loads(text)
    )


def state_json(state: StoryState) -> str:
    """The state's small parts (its vectors go in their own binary columns)."""
    return json.dumps(
        {
            "version": state.version,
            "size": state.size,
            "members": list(state.members),
            "counts": [list(c) for c in state.counts],
            "dates": list(state.dates),
            "entities": list(state.entities),
            "outlets": list(state.outlets),
            "topics": list(state.topics),
        },
        ensure_ascii=False,
    )


def state_from_json(text: str, centre: bytes, vectors: bytes) -> StoryState:
    data: dict[str, Any] = json.loads(text)
    return StoryState(
        version=str(data["version"]),
        size=int(data["size"]),
        centre=centre,
        members=tuple(int(m) for m in data["members"]),
        vectors=vectors,
        counts=tuple((int(low), int(high)) for low, high in data.get("counts", ())),
        dates=tuple(data.get("dates", ())),
        entities=tuple(data.get("entities", ())),
        outlets=tuple(data.get("outlets", ())),
        topics=tuple(data.get("topics", ())),
    )


def search_text(parts: Sequence[str]) -> str:
    """Text as search compares it: NFKC-normalized (full-width letters become plain ones) and lowercased."""
    return unicodedata.normalize("NFKC", "\n".join(p for p in parts if p)).lower()


def like_pattern(word: str) -> str:
    """A LIKE pattern matching `word` anywhere, its own %, _ and backslash taken literally (ESCAPE '\\')."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
