"""Settings from the environment, and feeds.yaml validated into frozen records: each once, at start.

feeds.yaml is read in two layers: PyYAML composes it into nodes that remember their line, then pydantic
models (unknown keys forbidden) check its shape. Every problem is reported as ``file:line: key.path: what``,
where the line comes from the node the pydantic error location points at. Rules that span entries
(unique names, references to topics) are checked afterwards on the validated models, with the same format.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    model_validator,
)

from bot import __version__
from bot.domain import ActionRule, Feed, Topic, Urgency
from bot.errors import ConfigError
from bot.i18n import config_language
from bot.ingest.match import DEFAULT_MARGIN, DEFAULT_THRESHOLD, compile_topics, term_problem

# --- public records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Defaults:
    """Settings shared by all feeds; feeds.yaml `defaults:` overrides any of them."""

    interval_seconds: int = 900  # per-feed poll interval default
    max_backoff_seconds: int = 6 * 3600  # ceiling of exponential backoff after failures
    timeout_seconds: float = 30.0  # whole-request timeout
    max_body_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 8  # feeds in flight at once
    dedupe_window_days: int = 30  # same normalized title from the same outlet is a duplicate this long
    story_window_days: int = 4  # reports this close in time may be one story (clustering)
    followup_window_days: int = 45  # a later report may be a follow-up of a story this old (clustering)
    retention_days: int = 180  # items older than this are pruned (stories and their source lists stay)
    silent_after_days: int = 7  # a feed that published nothing this long is reported to the admins


@dataclass(frozen=True, slots=True)
class Config:
    """feeds.yaml, validated: topics, feeds and actions in file order, and where it came from."""

    source: str
    defaults: Defaults
    topics: tuple[Topic, ...]
    feeds: tuple[Feed, ...]
    actions: tuple[ActionRule, ...]

    def topic(self, topic_id: str) -> Topic:
        """The topic with this id; KeyError if there is none."""
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    def feed(self, name: str) -> Feed:
        """The feed with this name; KeyError if there is none."""
        for feed in self.feeds:
            if feed.name == name:
                return feed
        raise KeyError(name)


DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
# A Bot API token is '<bot id>:<35 characters of [A-Za-z0-9_-]>'; the length of the second part has varied,
# so only its alphabet and a sane minimum are checked.
_TOKEN = re.compile(r"[0-9]{3,20}:[A-Za-z0-9_-]{30,60}")


@dataclass(frozen=True, slots=True)
class Secret:
    """A value that must never be printed: repr and str show only that it is set."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Settings:
    """Process settings from the environment (see `load_settings`)."""

    database_url: str
    config_path: str
    log_level: str
    user_agent: str
    telegram_token: Secret | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    admin_ids: frozenset[int] = frozenset()
    admin_chat_id: int | None = None


# --- durations and sizes --------------------------------------------------------------------------

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?\s*[smhd]\s*)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
# Binary multiples: the historical meaning of "5MB" in HTTP clients, and 5MB == 5 * 1024 * 1024 here.
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?")
_SIZE_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2, "gb": 1024**3, "gib": 1024**3}


def parse_duration(value: object) -> float:
    """Seconds from a number of seconds or a string such as "90s", "15m", "2h", "3d" or "1h30m"."""
    if isinstance(value, bool):  # YAML reads yes/no as booleans; never a duration
        raise ValueError(f"must be a duration such as 90s, 15m, 2h or 3d (got {_show(value)})")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"must not be negative (got {value})")
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if _NUMBER.fullmatch(text):
            return float(text)
        if _DURATION.fullmatch(text):
            return float(sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text)))
    raise ValueError(f"must be a duration such as 90s, 15m, 2h or 3d (got {_show(value)})")


def parse_size(value: object) -> int:
    """Bytes from a number of bytes or a string such as "512KB" or "5MB" (binary multiples)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"must not be negative (got {value})")
        return value
    if isinstance(value, str):
        hit = _SIZE.fullmatch(value.strip().lower())
        if hit:
            return int(float(hit.group(1)) * _SIZE_UNITS[hit.group(2) or "b"])
    raise ValueError(f"must be a size such as 512KB or 5MB (got {_show(value)})")


def format_duration(seconds: float) -> str:
    """Short text of a duration: 900 -> '15m', 5400 -> '1h30m', 90 -> '1m30s'."""
    rest = int(seconds)
    if rest != seconds:
        return f"{seconds:g}s"
    if rest == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out)


def _whole_seconds(value: object, minimum: int) -> int:
    seconds = parse_duration(value)
    if seconds != int(seconds):
        raise ValueError(f"must be a whole number of seconds (got {_show(value)})")
    if seconds < minimum:
        raise ValueError(f"must be at least {format_duration(minimum)} (got {_show(value)})")
    return int(seconds)


def _interval(value: object) -> int:
    # Polling more often than once a minute gains nothing from news sites and risks a ban.
    return _whole_seconds(value, 60)


def _timeout(value: object) -> float:
    seconds = parse_duration(value)
    if not 0 < seconds <= 600:
        raise ValueError(f"must be more than 0s and at most 10m (got {_show(value)})")
    return seconds


def _days(value: object) -> int:
    seconds = parse_duration(value)
    if seconds < 86400 or seconds % 86400:
        raise ValueError(f"must be a whole number of days, at least 1d (got {_show(value)})")
    return int(seconds // 86400)


def _body_size(value: object) -> int:
    size = parse_size(value)
    if size < 1024:
        raise ValueError(f"must be at least 1KB (got {_show(value)})")
    return size


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

# --- locating problems in the YAML ----------------------------------------------------------------

_Loc = tuple[str | int, ...]


def _format_path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(root: yaml.Node | None, loc: Sequence[str | int]) -> int:
    """1-based line of the key (or list item) at `loc`; the deepest existing parent's line if it is absent."""
    if root is None:
        return 1
    node: yaml.Node = root
    line = root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):  # the last duplicate is the one the data holds
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _duplicate_keys(node: yaml.Node, loc: _Loc, found: list[tuple[int, _Loc, str]]) -> None:
    """Collect keys given twice in one mapping: YAML would silently keep only the last value."""
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in first:
                    message = f"duplicate key (also on line {first[key.value]})"
                    found.append((line, (*loc, key.value), message))
                else:
                    first[key.value] = line
                _duplicate_keys(value, (*loc, key.value), found)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicate_keys(item, (*loc, i), found)


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _error_message(err: Mapping[str, Any], loc: _Loc) -> str:
    """A pydantic error as a short sentence a maintainer editing feeds.yaml can act on."""
    kind = err["type"]
    value = err.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        model = _MODEL_AT.get(tuple("*" if isinstance(p, int) else p for p in loc[:-1]))
        allowed = list(model.model_fields) if model else []
        text = "unknown key"
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        if close:
            text += f"; did you mean {close[0]!r}?"
        return text + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "value_error":
        return str(err["ctx"]["error"])
    if kind in ("dict_type", "model_type"):
        return f"must be a mapping of keys to values (got {_show(value)})"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"must have at least {err['ctx']['min_length']} item(s)"
    if kind == "list_type" and len(loc) == 4 and loc[0] == "topics" and loc[2] == "require":
        return f"each require group must be a list of terms, e.g. [north korea*, dprk] (got {_show(value)})"
    text = str(err["msg"]).replace("Input should be", "must be")
    text += f" (got {_show(value)})"
    if kind == "string_type" and isinstance(value, bool):
        text += "; YAML reads unquoted yes/no/on/off as true/false, so quote it"
    return text


# --- feeds.yaml -----------------------------------------------------------------------------------


def _compose(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for lines) and its data; ConfigError with the line on bad YAML."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or "cannot be parsed"
        if exc.context:
            where = f" (line {exc.context_mark.line + 1})" if exc.context_mark is not None else ""
            what = f"{what}, {exc.context}{where}"
        raise ConfigError(source, [f"{source}:{line}: invalid YAML: {what}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"{source}: invalid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    return node, data


def _entries(data: Any, *keys: str) -> list[tuple[int, dict[str, Any]]]:
    """(index, mapping) of the list at data[keys...], skipping entries that are not mappings."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return [(i, e) for i, e in enumerate(data) if isinstance(e, dict)] if isinstance(data, list) else []


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _cross_checks(data: Any, root: yaml.Node | None) -> list[tuple[_Loc, str]]:
    """Rules spanning entries (unique ids and names, references to topics), on the raw data.

    They run on the raw data, not the validated models, so that they are reported together with shape
    errors elsewhere in the file; entries too malformed to read are skipped (their shape error says why).
    """
    found: list[tuple[_Loc, str]] = []
    topic_ids = [t for _, e in _entries(data, "topics") if (t := _text(e.get("id")))]
    known = ", ".join(dict.fromkeys(topic_ids))

    def unique(kind: str, section: str, key: str) -> None:
        first: dict[str, int] = {}
        for i, entry in _entries(data, section):
            value = _text(entry.get(key))
            if not value:
                continue
            if value in first:
                line = _line_of(root, (section, first[value], key))
                found.append(((section, i, key), f"duplicate {kind} {value!r} (also on line {line})"))
            else:
                first[value] = i

    def references(entry: dict[str, Any], key: str, loc: _Loc) -> None:
        names = entry.get(key)
        for j, name in enumerate(names if isinstance(names, list) else []):
            if isinstance(name, str) and name.strip() not in topic_ids:
                found.append(((*loc, key, j), f"unknown topic {name!r} (topics are: {known})"))

    for i, topic in _entries(data, "topics"):
        if topic.get("examples") and not topic.get("anchor"):
            found.append((
                ("topics", i, "examples"),
                "examples need an anchor: terms one of which an item must name, e.g. anchor: [north korea*, 북한]",
            ))
        if not topic.get("examples"):
            for key in ("near_misses", "anchor", "threshold", "margin"):
                if key in topic:
                    found.append((("topics", i, key), "is only used with examples; add examples or remove it"))

    unique("topic id", "topics", "id")
    unique("feed name", "feeds", "name")
    unique("feed url", "feeds", "url")
    unique("action id", "actions", "id")
    for i, feed in _entries(data, "feeds"):
        references(feed, "topics", ("feeds", i))
        references(feed, "on_topic", ("feeds", i))
    for i, action in _entries(data, "actions"):
        when = action.get("when")
        if isinstance(when, dict):
            references(when, "topics", ("actions", i, "when"))

    defaults = data.get("defaults") if isinstance(data, dict) else None
    if isinstance(defaults, dict):
        try:
            interval = parse_duration(defaults.get("interval", _D.interval_seconds))
            backoff = parse_duration(defaults.get("max_backoff", _D.max_backoff_seconds))
        except ValueError:
            pass  # reported as a shape error
        else:
            if backoff < interval:
                found.append((("defaults", "max_backoff"), "must not be shorter than defaults.interval"))
    return found


def _records(model: _FileModel, source: str) -> Config:
    d = model.defaults
    defaults = Defaults(
        interval_seconds=d.interval,
        max_backoff_seconds=d.max_backoff,
        timeout_seconds=d.timeout,
        max_body_bytes=d.max_body,
        max_redirects=d.max_redirects,
        concurrency=d.concurrency,
        dedupe_window_days=d.dedupe_window,
        story_window_days=d.story_window,
        followup_window_days=d.followup_window,
        retention_days=d.retention,
        silent_after_days=d.silent_after,
    )
    topics = tuple(
        Topic(
            id=t.id,
            name=t.name["en"],
            require=tuple(tuple(group) for group in t.require),
            exclude=tuple(t.exclude),
            default=t.default,
            description=t.description.strip(),
            names=tuple((language, name) for language, name in t.name.items() if language != "en"),
            examples=tuple((lang, text) for lang, texts in (t.examples or {}).items() for text in texts),
            near_misses=tuple((lang, text) for lang, texts in (t.near_misses or {}).items() for text in texts),
            anchor=tuple(t.anchor),
            threshold=t.threshold,
            margin=t.margin,
        )
        for t in model.topics
    )
    feeds = tuple(
        Feed(
            name=f.name,
            url=f.url,
            language=f.language,
            interval_seconds=f.interval if f.interval is not None else defaults.interval_seconds,
            outlet=f.outlet or f.name,
            topics=tuple(f.topics),
            on_topic=tuple(f.on_topic),
            full_text=f.full_text,
        )
        for f in model.feeds
    )
    actions = tuple(
        ActionRule(
            id=a.id,
            title=a.title["en"],
            text=a.text["en"],
            url=a.url,
            targets=tuple(a.targets),
            topics=tuple(a.when.topics),
            terms=tuple(a.when.terms),
            entities=tuple(a.when.entities),
            urgency=tuple(Urgency(u) for u in a.when.urgency),
            priority=a.priority,
            translations=tuple(
                (language, a.title.get(language, a.title["en"]), a.text.get(language, a.text["en"]))
                for language in dict.fromkeys((*a.title, *a.text))
                if language != "en"
            ),
        )
        for a in model.actions
    )
    return Config(source=source, defaults=defaults, topics=topics, feeds=feeds, actions=actions)


def parse_config(text: str, source: str = "<string>") -> Config:
    """Validate feeds.yaml text; ConfigError lists every problem as 'source:line: key.path: what'."""
    root, data = _compose(text, source)
    if data is None:
        raise ConfigError(source, [f"{source}:1: the file is empty; it needs topics and feeds"])

    located: list[tuple[int, _Loc, str]] = []
    if root is not None:
        _duplicate_keys(root, (), located)
    model: _FileModel | None = None
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc: _Loc = tuple(err["loc"])
            located.append((_line_of(root, loc), loc, _error_message(err, loc)))
    shape_errors = {loc for _, loc, _ in located}
    for loc, message in _cross_checks(data, root):
        if not any(loc[:n] in shape_errors for n in range(len(loc) + 1)):  # one problem per place
            located.append((_line_of(root, loc), loc, message))

    if located:
        located.sort(key=lambda p: p[0])  # stable: same-line problems keep their order
        problems = [
            f"{source}:{line}: {_format_path(loc)}: {message}" if loc else f"{source}:{line}: {message}"
            for line, loc, message in located
        ]
        raise ConfigError(source, problems)

    assert model is not None  # no problems means validation succeeded
    config = _records(model, source)
    try:
        compile_topics(config.topics)  # every term was checked above; this guards the matcher's own rules
    except ValueError as exc:
        raise ConfigError(source, [f"{source}: {exc}"]) from None
    return config


def load_config(path: str | Path) -> Config:
    """Read and validate feeds.yaml at `path`; ConfigError if it is missing, unreadable or invalid."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [f"{source}: file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except OSError as exc:
        raise ConfigError(source, [f"{source}: cannot read file: {exc.strerror or exc}"]) from None
    return parse_config(text, source)


def describe(config: Config) -> str:
    """A short summary of a valid config for `advocacy-bot check-config`."""
    def count(n: int, noun: str) -> str:
        return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

    lines = [
        f"{config.source}: OK: {count(len(config.topics), 'topic')}, {count(len(config.feeds), 'feed')}, "
        f"{count(len(config.actions), 'action')}",
        "topics:",
    ]
    for t in config.topics:
        kind = "default" if t.default else "opt-in"
        shape = f"{count(len(t.require), 'group')}, {count(len(t.exclude), 'exclusion')}"
        lines.append(f"  {t.id} ({kind}): {t.name} [{shape}]")
        lines.append(f"    tiers: keywords ({shape}){_examples_tier(t)}")
    lines.append("feeds:")
    for f in config.feeds:
        topics = ", ".join(f.topics) if f.topics else "all topics"
        extra = f"; always: {', '.join(f.on_topic)}" if f.on_topic else ""
        every = format_duration(f.interval_seconds)
        lines.append(f"  {f.name} [{f.language}, every {every}]: {topics}{extra}")
    lines.append(f"actions: {len(config.actions)}")
    return "\n".join(lines)


def _examples_tier(topic: Topic) -> str:
    """check-config's description of a topic's semantic tier ('' when it has no examples)."""
    if not topic.examples:
        return ""

    def per_language(texts: Sequence[tuple[str, str]]) -> str:
        counts: dict[str, int] = {}
        for language, _ in texts:
            counts[language] = counts.get(language, 0) + 1
        return " ".join(f"{language} {n}" for language, n in counts.items())

    threshold = DEFAULT_THRESHOLD if topic.threshold is None else topic.threshold
    margin = DEFAULT_MARGIN if topic.margin is None else topic.margin
    near = f"{len(topic.near_misses)} near-misses ({per_language(topic.near_misses)})" if topic.near_misses else (
        "no near-misses"
    )
    return (
        f", then examples ({len(topic.examples)}: {per_language(topic.examples)}; {near}; "
        f"anchor: {len(topic.anchor)} terms; threshold {threshold:.2f}, margin {margin:.2f})"
    )


# --- environment ----------------------------------------------------------------------------------

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DEFAULT_DB_PATH = "data/advocacy-bot.sqlite3"


def load_settings(env: Mapping[str, str]) -> Settings:
    """Settings from environment variables (pass os.environ); ConfigError naming each bad variable.

    DATABASE_URL (else BOT_DB_PATH, a SQLite file, default data/advocacy-bot.sqlite3), FEEDS_CONFIG
    (default feeds.yaml), LOG_LEVEL (default INFO), BOT_USER_AGENT (default names this bot and version),
    TELEGRAM_BOT_TOKEN (needed only by `run`), TELEGRAM_API_URL (default Telegram's), ADMIN_USER_IDS (comma or
    space separated user ids allowed to use admin commands) and ADMIN_CHAT_ID (where admin reports go).
    """
    problems: list[str] = []

    database_url = env.get("DATABASE_URL", "").strip()
    if database_url:
        if not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*://", database_url):
            problems.append(
                "DATABASE_URL: must be a database URL such as sqlite:////var/lib/bot.sqlite3 "
                "or postgresql+psycopg://user@host/db"
            )
    else:
        db_path = env.get("BOT_DB_PATH", "").strip() or _DEFAULT_DB_PATH
        database_url = f"sqlite:///{Path(db_path).expanduser().resolve()}"

    config_path = env.get("FEEDS_CONFIG", "").strip() or "feeds.yaml"

    log_level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
    log_level = "WARNING" if log_level == "WARN" else log_level
    if log_level not in _LOG_LEVELS:
        problems.append(f"LOG_LEVEL: must be one of {', '.join(_LOG_LEVELS)} (got {env.get('LOG_LEVEL')!r})")

    user_agent = env.get("BOT_USER_AGENT", "").strip() or (
        f"advocacy-bot/{__version__} (+https://github.com/advocacy-bot/advocacy-bot)"
    )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in user_agent):
        problems.append("BOT_USER_AGENT: must not contain control characters such as newlines")

    token_text = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    token: Secret | None = None
    if token_text:
        if _TOKEN.fullmatch(token_text):
            token = Secret(token_text)
        else:
            # The value itself is never echoed: a near-miss token is still a secret.
            problems.append(
                "TELEGRAM_BOT_TOKEN: not a Bot API token (expected '<digits>:<letters, digits, _ or ->' as "
                "@BotFather gives it); to try the bot without one, run `advocacy-bot demo`"
            )

    api_url = env.get("TELEGRAM_API_URL", "").strip() or DEFAULT_TELEGRAM_API_URL
    if not re.match(r"https?://[^\s/]+", api_url):
        problems.append(f"TELEGRAM_API_URL: must be an http(s) URL such as {DEFAULT_TELEGRAM_API_URL}")

    admin_ids: set[int] = set()
    for part in re.split(r"[,\s]+", env.get("ADMIN_USER_IDS", "").strip()):
        if not part:
            continue
        if re.fullmatch(r"[0-9]{1,20}", part):
            admin_ids.add(int(part))
        else:
            problems.append(f"ADMIN_USER_IDS: {part!r} is not a Telegram user id (a positive whole number)")

    admin_chat_text = env.get("ADMIN_CHAT_ID", "").strip()
    admin_chat_id: int | None = None
    if admin_chat_text:
        if re.fullmatch(r"-?[0-9]{1,20}", admin_chat_text):
            admin_chat_id = int(admin_chat_text)
        else:
            problems.append(f"ADMIN_CHAT_ID: {admin_chat_text!r} is not a Telegram chat id (a whole number)")

    if problems:
        raise ConfigError("environment", problems)
    return Settings(
        database_url=database_url, config_path=config_path, log_level=log_level, user_agent=user_agent,
        telegram_token=token, telegram_api_url=api_url, admin_ids=frozenset(admin_ids), admin_chat_id=admin_chat_id,
    )
