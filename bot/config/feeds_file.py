"""feeds.yaml read and validated into a Config: compose with lines, check the shape, then the cross rules."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from bot.config.checks import _cross_checks
from bot.config.locate import _duplicate_keys, _error_message, _format_path, _line_of, _Loc
from bot.config.records import Config, Defaults
from bot.config.schema import _FileModel
from bot.config.units import format_duration
from bot.domain import ActionRule, Feed, Topic, Urgency
from bot.errors import ConfigError
from bot.ingest.match import DEFAULT_MARGIN, DEFAULT_THRESHOLD, compile_topics

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


