"""Log lines: one per event, and a secret never written, whoever logs it."""

from __future__ import annotations

import io
import logging

from bot.logs import REDACTED, setup_logging

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
