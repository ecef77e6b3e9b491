"""The README is the front door: its feeds.yaml example is valid and its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from bot.cli import COMMANDS
from bot.config import parse_config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_the_feeds_yaml_example_is_accepted_by_the_validator() -> None:
    block = README.split("```yaml", 1)[1].split("```", 1)[0]
    config = parse_config(block.replace("[...]", "[]"), source="README.md")
    assert [f.name for f in config.feeds] == ["Example Asia desk"]
    assert config.actions and config.actions[0].id == "write-to-chinese-embassy"


def test_every_advocacy_bot_command_the_readme_names_exists() -> None:
    named = set(re.findall(r"advocacy-bot ([a-z][a-z-]+)", README))
    assert named - set(COMMANDS) == set()
    assert set(COMMANDS) - named == set()  # and every command is documented
