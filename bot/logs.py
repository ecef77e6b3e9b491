"""Logging set-up: one bounded line per event, as text or JSON, level from the environment, secrets never written.

An operator reads these lines (or a log collector does), so each says what happened to which feed, chat
or story in one line. An exception is its type, message and the line that raised it; the whole traceback
only at DEBUG, where whoever asked for it wants it. A line never exceeds MAX_LINE characters: a library
logging a whole response body must not bury the lines around it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[redacted]"
# At most this many characters of one event (a traceback at DEBUG may be longer: it was asked for).
MAX_LINE = 2000
FORMATS = ("text", "json")

# httpx logs every request line at INFO, and a Bot API URL holds the token (/bot<token>/sendMessage):
# these loggers stay at WARNING whatever LOG_LEVEL says. The formatter below still redacts as a backstop.
_CHATTY = ("httpx", "httpcore", "apscheduler.executors.default", "apscheduler.scheduler", "alembic")
# What a record may carry beside its message (`log.info(..., extra={"feed": name})`): JSON gets them as fields.
CONTEXT = ("feed", "chat", "story", "row", "worker")


def bounded(text: str, limit: int = MAX_LINE) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}… ({len(text) - limit + 40} more characters)"


def exception_summary(error: BaseException) -> str:
    """`Type: message (at file:line in function)`, the frame that raised it: what an operator needs at ERROR."""
    frames = traceback.extract_tb(error.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" (at {os.path.basename(last.filename)}:{last.lineno} in {last.name})"
    message = bounded(" ".join(str(error).split()), MAX_LINE // 2)  # bounded before `where`, which must stay
    return f"{type(error).__name__}: {message}{where}" if message else f"{type(error).__name__}{where}"


class RedactingFormatter(logging.Formatter):
    """Formats a record on one bounded line with every secret replaced; `json` gives one JSON object a line."""

    def __init__(self, fmt: str, secrets: Sequence[str], *, as_json: bool = False, tracebacks: bool = False) -> None:
        super().__init__(fmt)
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)
        self.as_json = as_json
        self.tracebacks = tracebacks

    def redact(self, text: str) -> str:
        """`text` with each secret replaced by REDACTED."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _exception(self, record: logging.LogRecord) -> str | None:
        if not record.exc_info or record.exc_info[1] is None:
            return None
        if self.tracebacks:
            return self.formatException(record.exc_info)
        return exception_summary(record.exc_info[1])

    def format(self, record: logging.LogRecord) -> str:
        message = bounded(self.redact(record.getMessage()))
        exception = self._exception(record)
        if exception is not None:
            exception = self.redact(exception)
        if self.as_json:
            return self._json(record, message, exception)
        record.message = message
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if exception is not None:
            text = f"{text} | {exception}"
        # One line per event: log shippers and `grep` treat a line as a record.
        return text.replace("\r", "").replace("\n", " | ")

    def _json(self, record: logging.LogRecord, message: str, exception: str | None) -> str:
        fields: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        for name in CONTEXT:
            value = record.__dict__.get(name)
            if value is not None:
                fields[name] = value if isinstance(value, int | float | bool) else self.redact(str(value))
        if exception is not None:
            fields["exception"] = exception
        return json.dumps(fields, ensure_ascii=False)


def setup_logging(
    level: str, secrets: Sequence[str] = (), stream: TextIO | None = None, log_format: str | None = None
) -> None:
    """Route all logging to `stream` (stderr) at `level`, one redacted line per record; replaces earlier set-up.

    `log_format` is "text" or "json"; None reads LOG_FORMAT from the environment (text when unset). An
    unknown format logs text and says so, rather than stopping the bot over its logs.
    """
    wanted = (log_format or os.environ.get("LOG_FORMAT", "") or "text").strip().lower()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s", secrets,
        as_json=wanted == "json", tracebacks=logging.getLevelName(level) <= logging.DEBUG,
    ))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Library warnings (python-telegram-bot's deprecation notices, say) become log records too, so they are
    # one redacted line like everything else instead of raw text on stderr.
    logging.captureWarnings(True)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    if wanted not in FORMATS:
        logging.getLogger(__name__).warning("LOG_FORMAT=%s is not one of %s; logging text", wanted, ", ".join(FORMATS))
