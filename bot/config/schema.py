"""The shape of feeds.yaml as pydantic models: field checks, unknown keys forbidden."""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from bot.config.records import Defaults
from bot.config.units import _body_size, _days, _interval, _timeout
from bot.i18n import config_language
from bot.ingest.match import term_problem

# --- field checks -------------------------------------------------------------------------------

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_PLACEHOLDERS = ("count", "places", "date", "reporters")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(f"must be lowercase letters, digits and hyphens (got {value!r})")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", value):
        raise ValueError(f"must be an http(s) URL (got {value!r})")
    return value


def _language(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise ValueError(f"must be a language code such as en, ko, zh or zh-TW (got {value!r})")
    # BCP 47 casing, so "ZH-tw" and "zh-TW" are one language downstream: zh, Hant, TW.
    first, *rest = value.split("-")
    rest = [t.upper() if len(t) == 2 else t.title() if len(t) == 4 else t.lower() for t in rest]
    return "-".join([first.lower(), *rest])


def _term(value: str) -> str:
    problem = term_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value.strip()


def _action_text(value: str) -> str:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    except ValueError:
        raise ValueError("has an unbalanced brace; write {{ or }} for a literal brace") from None
    for name in fields:
        if name not in _PLACEHOLDERS:
            allowed = " ".join("{" + p + "}" for p in _PLACEHOLDERS)
            raise ValueError(f"unknown placeholder {{{name}}}; allowed: {allowed}")
    return value


def _translatable(value: Any) -> Any:
    """A plain string is the English text; a mapping gives the text per language."""
    return {"en": value} if isinstance(value, str) else value


def _translations(value: dict[str, str]) -> dict[str, str]:
    """{language: text} with our language tags; English is required: it is what other languages fall back to."""
    texts: dict[str, str] = {}
    for key, text in value.items():
        language = config_language(key)
        if language is None:
            raise ValueError(f"unknown language {key!r}; use en, ko or zh")
        if not text.strip():
            raise ValueError(f"{key}: the text is empty")
        texts[language] = text.strip()
    if "en" not in texts:
        raise ValueError("needs the English text under en: languages without a translation show it")
    return texts


def _example_languages(value: dict[str, list[str]]) -> dict[str, list[str]]:
    """{language: [short texts]} with our language tags (a topic's examples and near-misses)."""
    texts: dict[str, list[str]] = {}
    for key, entries in value.items():
        language = config_language(key)
        if language is None:
            raise ValueError(f"unknown language {key!r}; use en, ko or zh")
        texts.setdefault(language, []).extend(entries)
    if not any(texts.values()):
        raise ValueError("needs at least one text, e.g. en: [China hands detained escapees to the North]")
    return texts


def _action_texts(value: dict[str, str]) -> dict[str, str]:
    for text in value.values():
        _action_text(text)
    return value


_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# A name or text shown to subscribers: a string, or {en: .., ko: .., zh: ..}.
_Translated = Annotated[dict[str, str], BeforeValidator(_translatable), AfterValidator(_translations)]
_ActionTexts = Annotated[
    dict[str, str], BeforeValidator(_translatable), AfterValidator(_translations), AfterValidator(_action_texts)
]
_Slug = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_slug)]
_Url = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_http_url)]
_Language = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_language)]
_Term = Annotated[str, AfterValidator(_term)]
_Interval = Annotated[int, BeforeValidator(_interval)]
_Timeout = Annotated[float, BeforeValidator(_timeout)]
_Days = Annotated[int, BeforeValidator(_days)]
_BodySize = Annotated[int, BeforeValidator(_body_size)]
_Group = Annotated[list[_Term], Field(min_length=1)]
# A topic's example or near-miss: one short sentence, as a headline with its first teaser sentence would be.
_Example = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
_Examples = Annotated[dict[str, list[_Example]], AfterValidator(_example_languages)]

_D = Defaults()


class _Model(BaseModel):
    """Shape-checking base: unknown keys are errors, and `key:` left empty means "use the default"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                k: v for k, v in data.items()
                if not (v is None and k in cls.model_fields and not cls.model_fields[k].is_required())
            }
        return data


class _DefaultsModel(_Model):
    interval: _Interval = _D.interval_seconds
    max_backoff: _Interval = _D.max_backoff_seconds
    timeout: _Timeout = _D.timeout_seconds
    max_body: _BodySize = _D.max_body_bytes
    max_redirects: Annotated[int, Field(strict=True, ge=0, le=20)] = _D.max_redirects
    concurrency: Annotated[int, Field(strict=True, ge=1, le=64)] = _D.concurrency
    dedupe_window: _Days = _D.dedupe_window_days
    story_window: _Days = _D.story_window_days
    followup_window: _Days = _D.followup_window_days
    retention: _Days = _D.retention_days
    silent_after: _Days = _D.silent_after_days


class _TopicModel(_Model):
    id: _Slug
    name: _Translated
    default: StrictBool = False
    description: str = ""
    require: Annotated[list[_Group], Field(min_length=1)]
    exclude: list[_Term] = []
    examples: _Examples | None = None
    near_misses: _Examples | None = None
    anchor: list[_Term] = []
    threshold: Annotated[float, Field(gt=0, lt=1)] | None = None
    margin: Annotated[float, Field(ge=0, lt=1)] | None = None


class _FeedModel(_Model):
    name: _Text
    url: _Url
    language: _Language
    interval: _Interval | None = None
    outlet: _Text | None = None
    topics: list[_Slug] = []
    on_topic: list[_Slug] = []
    full_text: StrictBool = False


class _WhenModel(_Model):
    topics: list[_Slug] = []
    terms: list[_Term] = []
    entities: list[_Text] = []
    urgency: list[Literal["urgent", "update"]] = []


class _ActionModel(_Model):
    id: _Slug
    title: _Translated
    text: _ActionTexts
    url: _Url | None = None
    targets: list[_Text] = []
    when: _WhenModel = Field(default_factory=_WhenModel)
    priority: Annotated[int, Field(strict=True)] = 0


class _FileModel(_Model):
    defaults: _DefaultsModel = Field(default_factory=_DefaultsModel)
    topics: Annotated[list[_TopicModel], Field(min_length=1)]
    feeds: list[_FeedModel]
    actions: list[_ActionModel] = []


# Which model sits at a location (list indexes as "*"): to name the allowed keys when one is unknown.
_MODEL_AT: dict[tuple[str, ...], type[_Model]] = {
    (): _FileModel,
    ("defaults",): _DefaultsModel,
    ("topics", "*"): _TopicModel,
    ("feeds", "*"): _FeedModel,
    ("actions", "*"): _ActionModel,
    ("actions", "*", "when"): _WhenModel,
}

