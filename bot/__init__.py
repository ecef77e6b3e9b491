"""advocacy-bot: Telegram alerts on forced repatriation of North Koreans."""

import os

__version__ = "0.1.0"

# The sentence model and the story index multiply small matrices, where a second BLAS thread only competes
# for the cores the bot's other threads use: 3.5 ms per text with one BLAS thread, 8.1 ms with two, on the
# 2-core development machine under load (bench/story_cost.py). Set before numpy is first imported (it reads
# this once); an operator's own OPENBLAS_NUM_THREADS or OMP_NUM_THREADS wins.
if "OMP_NUM_THREADS" not in os.environ:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
