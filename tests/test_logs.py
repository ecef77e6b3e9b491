"""Log lines: one per event, and a secret never written, whoever logs it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

from bot.logs import MAX_LINE, REDACTED, setup_logging

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_token_is_redacted_everywhere_and_httpx_request_lines_are_quiet() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("httpx").level)
    setup_logging("DEBUG", [TOKEN], stream=out)
    try:
        logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
        logging.getLogger("telegram.ext").warning("error at https://api.telegram.org/bot%s/sendMessage", TOKEN)
        try:
            raise RuntimeError(f"boom with {TOKEN}")
        except RuntimeError:
            logging.getLogger("bot").exception("chat %d: unexpected", 42)
    finally:
        # Give pytest its handlers back: later tests capture logs through them.
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.getLogger("httpx").setLevel(saved[2])
        logging.captureWarnings(False)
    text = out.getvalue()
    assert TOKEN not in text
    assert "HTTP Request" not in text  # httpx's request lines stay below WARNING
    assert f"bot{REDACTED}/sendMessage" in text
    lines = text.splitlines()
    assert len(lines) == 2  # the traceback is on its record's line
    assert "chat 42: unexpected" in lines[1] and "RuntimeError" in lines[1]


def capture(level: str, log_format: str, emit: Callable[[], None]) -> list[str]:
    """The lines `emit` logs under setup_logging(level, log_format), with pytest's handlers restored after."""
    out = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    setup_logging(level, [TOKEN], stream=out, log_format=log_format)
    try:
        emit()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.captureWarnings(False)
    return out.getvalue().splitlines()


def deep(n: int) -> None:
    if n == 0:
        raise ValueError("unexpected <html> " + "x" * 9000)
    deep(n - 1)


def log_failure() -> None:
    try:
        deep(30)
    except ValueError:
        logging.getLogger("bot.pipeline").exception("feed %r: unexpected error while processing", "Wire")


def test_an_error_is_one_bounded_line_with_the_frame_that_raised_it() -> None:
    (line,) = capture("INFO", "text", log_failure)
    assert len(line) <= 2 * MAX_LINE
    assert "feed 'Wire': unexpected error while processing | ValueError: unexpected <html>" in line
    assert "(at test_logs.py:" in line and "in deep)" in line and "more characters)" in line
    assert "Traceback" not in line


def test_debug_keeps_the_whole_traceback_on_the_line() -> None:
    (line,) = capture("DEBUG", "text", log_failure)
    assert "Traceback (most recent call last):" in line and "in log_failure" in line and "in deep" in line


def test_json_lines_carry_the_context_fields_and_no_secret() -> None:
    def emit() -> None:
        logging.getLogger("bot.delivery").info(
            "alert sent to chat %d", 42, extra={"chat": 42, "story": 7, "feed": f"bot{TOKEN}"}
        )
        log_failure()

    sent, failed = (json.loads(line) for line in capture("INFO", "json", emit))
    assert sent["message"] == "alert sent to chat 42" and sent["level"] == "INFO"
    assert (sent["chat"], sent["story"], sent["feed"]) == (42, 7, f"bot{REDACTED}")
    assert failed["exception"].startswith("ValueError: unexpected <html>") and "in deep)" in failed["exception"]
    assert failed["level"] == "ERROR" and failed["logger"] == "bot.pipeline"


def test_an_unknown_log_format_falls_back_to_text_and_says_so() -> None:
    lines = capture("INFO", "xml", lambda: logging.getLogger("bot").info("hello"))
    assert "LOG_FORMAT=xml is not one of text, json" in lines[0] and lines[1].endswith("bot: hello")
