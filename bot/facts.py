"""The two names `bot/cli.py` and `bot/tools/replay.py` still import from here; facts moved to `bot.stories.facts`.

Kept only until the topics work editing those two modules lands; then their imports change and this goes.
"""

from bot.stories.facts import Gazetteer, load_gazetteer

__all__ = ["Gazetteer", "load_gazetteer"]
