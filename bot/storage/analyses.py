"""Stored analyses of matched items: what the story step read in each, made once at ingest."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.domain import Analysis
from bot.storage.codec import facts_from_json, facts_json, search_text
from bot.storage.items import StoredItem, _item
from bot.storage.models import FeedRow, ItemAnalysisRow, ItemRow, ItemTopicRow


def _row(item_id: int, title: str, analysis: Analysis) -> ItemAnalysisRow:
    return ItemAnalysisRow(
        item_id=item_id, version=analysis.version, language=analysis.language, text=analysis.text,
        facts=facts_json(analysis.facts), entities=json.dumps(sorted(analysis.entities), ensure_ascii=False),
        numbers=json.dumps(sorted(analysis.numbers)), places=json.dumps(sorted(analysis.places), ensure_ascii=False),
        vector=analysis.vector, search_title=search_text([title]), waiting=True,
        organisations=json.dumps(sorted(analysis.organisations), ensure_ascii=False),
    )


def _analysis(row: ItemAnalysisRow) -> Analysis:
    return Analysis(
        language=row.language, text=row.text, facts=facts_from_json(row.facts),
        entities=frozenset(json.loads(row.entities)), numbers=frozenset(json.loads(row.numbers)),
        places=frozenset(json.loads(row.places)), vector=row.vector, version=row.version,
        organisations=frozenset(json.loads(row.organisations)),
    )


class AnalysisRepository:
    """One analysis per matched item; the items still waiting for a story are those with one and no story."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, item_id: int, title: str, analysis: Analysis) -> None:
        """Store a new item's analysis: the item waits for the story step."""
        self._session.add(_row(item_id, title, analysis))

    def replace(self, item_id: int, title: str, analysis: Analysis) -> None:
        """Store the item's analysis made again (the stored one was stale); whether it waits is unchanged."""
        row = self._session.get(ItemAnalysisRow, item_id)
        if row is None:
            self._session.add(_row(item_id, title, analysis))
            return
        fresh = _row(item_id, title, analysis)
        for column in ("version", "language", "text", "facts", "entities", "numbers", "places", "vector",
                       "search_title", "organisations"):
            setattr(row, column, getattr(fresh, column))

    def placed(self, item_ids: Sequence[int]) -> None:
        """These items are in their stories now: they no longer wait."""
        if item_ids:
            self._session.execute(
                update(ItemAnalysisRow).where(ItemAnalysisRow.item_id.in_(list(item_ids))).values(waiting=False)
            )

    def waiting(self, item_ids: Sequence[int]) -> None:
        """These items wait for the story step again (an admin moved them out of their story)."""
        if item_ids:
            self._session.execute(
                update(ItemAnalysisRow).where(ItemAnalysisRow.item_id.in_(list(item_ids))).values(waiting=True)
            )

    def get_many(self, item_ids: Sequence[int]) -> dict[int, Analysis]:
        """The stored analyses of these items (stale ones included: their version says so)."""
        if not item_ids:
            return {}
        rows = self._session.scalars(select(ItemAnalysisRow).where(ItemAnalysisRow.item_id.in_(list(item_ids))))
        return {row.item_id: _analysis(row) for row in rows}

    def pending(self, limit: int) -> list[tuple[StoredItem, Analysis]]:
        """Analysed items not yet in a story, oldest first: what the story step places next."""
        rows = self._session.execute(
            select(ItemRow, FeedRow.name, ItemAnalysisRow)
            .join(ItemAnalysisRow, ItemAnalysisRow.item_id == ItemRow.id)
            .join(FeedRow, FeedRow.id == ItemRow.feed_id)
            .where(ItemAnalysisRow.waiting.is_(True))
            .order_by(ItemRow.published_at, ItemRow.id)
            .limit(limit)
        ).all()
        topics = self._topics([item.id for item, _, _ in rows])
        return [
            (StoredItem(item.id, _item(item, name), topics.get(item.id, ()), None), _analysis(analysis))
            for item, name, analysis in rows
        ]

    def items(self, item_ids: Sequence[int]) -> list[tuple[StoredItem, Analysis | None]]:
        """These items with their topics and analyses, in the order given (missing ids left out)."""
        if not item_ids:
            return []
        rows = self._session.execute(
            select(ItemRow, FeedRow.name, ItemAnalysisRow)
            .join(FeedRow, FeedRow.id == ItemRow.feed_id)
            .outerjoin(ItemAnalysisRow, ItemAnalysisRow.item_id == ItemRow.id)
            .where(ItemRow.id.in_(list(item_ids)))
        ).all()
        topics = self._topics([item.id for item, _, _ in rows])
        found = {
            item.id: (
                StoredItem(item.id, _item(item, name), topics.get(item.id, ()), item.story_id),
                _analysis(analysis) if analysis is not None else None,
            )
            for item, name, analysis in rows
        }
        return [found[i] for i in item_ids if i in found]

    def _topics(self, item_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        found: dict[int, list[str]] = {}
        if item_ids:
            for item_id, topic in self._session.execute(
                select(ItemTopicRow.item_id, ItemTopicRow.topic).where(ItemTopicRow.item_id.in_(list(item_ids)))
            ):
                found.setdefault(item_id, []).append(topic)
        return {item_id: tuple(sorted(topics)) for item_id, topics in found.items()}
