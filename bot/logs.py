"""Logging set-up: one line per event, level from the environment, secrets never written."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TextIO

REDACTED = "[redacted]"

# httpx logs every request line at INFO, and a Bot API URL holds the token (/bot<token>/sendMessage):
# these loggers stay at WARNING whatever LOG_LEVEL says. The formatter below still redacts as a backstop.
_CHATTY = ("httpx", "httpcore", "apscheduler.executors.default", "apscheduler.scheduler", "alembic")


class RedactingFormatter(logging.Formatter):
    """Formats a record on one line (newlines of tracebacks escaped) with every secret replaced."""

    def __init__(self, fmt: str, secrets: Sequence[str]) -> None:
        super().__init__(fmt)
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with each secret replaced by REDACTED."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def format(self, record: logging.LogRecord) -> str:
        text = self.redact(super().format(record))
        # One line per event: log shippers and `grep` treat a line as a record.
        return text.replace("\r", "").replace("\n", " | ")


def setup_logging(level: str, secrets: Sequence[str] = (), stream: TextIO | None = None) -> None:
    """Route all logging to `stream` (stderr) at `level`, one redacted line per record; replaces earlier set-up."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
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
