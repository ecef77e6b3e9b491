"""Chats, subscriptions and settings as JSON, so a community can move to a new bot. Pure: data in, data out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.domain import Chat, ChatKind, ChatSettings, DeliveryMode
from bot.errors import BotError

FORMAT = "advocacy-bot/chats"
VERSION = 1

_Hour = Annotated[int, Field(strict=True, ge=0, le=23)]
# The chats table keeps Telegram ids in a signed 64-bit column; a larger number is no chat id.
_ChatId = Annotated[int, Field(strict=True, ge=-(2**63), le=2**63 - 1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SettingsModel(_Model):
    mode: DeliveryMode = DeliveryMode.IMMEDIATE
    digest_hour: _Hour = 8
    timezone: str = "UTC"
    urgent_only: bool = False
    quiet_start: _Hour | None = None
    quiet_end: _Hour | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class _ChatModel(_Model):
    id: _ChatId
    kind: ChatKind
    title: str = ""
    topics: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    settings: _SettingsModel = _SettingsModel()
    active: bool = True
    inactive_reason: str | None = None
    subscribed_at: AwareDatetime | None = None
    last_digest_at: AwareDatetime | None = None


class _FileModel(_Model):
    format: Literal["advocacy-bot/chats"]
    version: Literal[1]
    exported_at: AwareDatetime | None = None
    chats: list[_ChatModel]


def export_chats(chats: Sequence[Chat], exported_at: datetime) -> dict[str, Any]:
    """The export document for `chats` (every field needed to serve them again from another bot)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": exported_at.isoformat(),
        "chats": [
            {
                "id": chat.id,
                "kind": chat.kind.value,
                "title": chat.title,
                "topics": list(chat.topics),
                "settings": {
                    "mode": chat.settings.mode.value,
                    "digest_hour": chat.settings.digest_hour,
                    "timezone": chat.settings.timezone,
                    "urgent_only": chat.settings.urgent_only,
                    "quiet_start": chat.settings.quiet_start,
                    "quiet_end": chat.settings.quiet_end,
                },
                "active": chat.active,
                "inactive_reason": chat.inactive_reason,
                "subscribed_at": chat.subscribed_at.isoformat() if chat.subscribed_at else None,
                "last_digest_at": chat.last_digest_at.isoformat() if chat.last_digest_at else None,
            }
            for chat in chats
        ],
    }


def parse_export(text: str, source: str, known_topics: Sequence[str]) -> list[Chat]:
    """The chats of an export document; BotError listing each problem (path in the document and what is wrong)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BotError(f"{source}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        # json recurses once per nesting level; an export is four levels deep at most.
        raise BotError(f"{source}: not a chat export: nested too deeply") from None
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()[:20]
        ]
        raise BotError(f"{source}: not a chat export:\n" + "\n".join(f"  {p}" for p in problems)) from None
    ids = [chat.id for chat in model.chats]
    if len(set(ids)) != len(ids):
        raise BotError(f"{source}: a chat id appears twice")
    known = set(known_topics)
    unknown = sorted({t for chat in model.chats for t in chat.topics} - known)
    if unknown:
        # Subscriptions to topics this feeds.yaml lacks would never fire: say so rather than import silently.
        raise BotError(
            f"{source}: topics not in feeds.yaml: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return [
        Chat(
            id=chat.id, kind=chat.kind, title=chat.title, topics=tuple(dict.fromkeys(chat.topics)),
            settings=ChatSettings(
                mode=chat.settings.mode, digest_hour=chat.settings.digest_hour, timezone=chat.settings.timezone,
                urgent_only=chat.settings.urgent_only, quiet_start=chat.settings.quiet_start,
                quiet_end=chat.settings.quiet_end,
            ),
            active=chat.active, inactive_reason=chat.inactive_reason, subscribed_at=chat.subscribed_at,
            last_digest_at=chat.last_digest_at,
        )
        for chat in model.chats
    ]
