"""Settings from the environment, and feeds.yaml validated into frozen records: each once, at start.

feeds.yaml is read in two layers: PyYAML composes it into nodes that remember their line, then pydantic
models (unknown keys forbidden) check its shape. Every problem is reported as ``file:line: key.path: what``,
where the line comes from the node the pydantic error location points at. Rules that span entries
(unique names, references to topics) are checked afterwards on the validated models, with the same format.
"""

from bot.config.feeds_file import describe, load_config, parse_config
from bot.config.records import Config, Defaults, Secret, Settings
from bot.config.settings import load_settings
from bot.config.units import format_duration, parse_duration, parse_size

__all__ = [
    "Config", "Defaults", "Secret", "Settings", "describe", "format_duration", "load_config", "load_settings",
    "parse_config", "parse_duration", "parse_size",
]
