# syntax=docker/dockerfile:1
# advocacy-bot: the Telegram alert bot as a container.
#
#   docker build -t advocacy-bot .
#   docker run --rm advocacy-bot advocacy-bot demo                  # try it: no token, no internet
#   docker run -d --name advocacy-bot -e TELEGRAM_BOT_TOKEN=... -v advocacy-bot-data:/data advocacy-bot
#
# The SQLite database lives in the /data volume (BOT_DB_PATH); set DATABASE_URL to use PostgreSQL instead.
# feeds.yaml is baked in at /app/feeds.yaml and FEEDS_CONFIG names it by its absolute path, so `run` finds
# it from any working directory; mount your own over it (read-only is enough), then send SIGHUP
# (docker kill -s HUP advocacy-bot) or use /reload to re-read it. compose.yaml shows all of this.
# podman: build with `podman build --format docker .`; its default OCI format drops the HEALTHCHECK.

# --- build: the package and every dependency as wheels, so the final image has no build tools or caches --
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
# Only what the package is built from (see .dockerignore); migrations/ ships inside it as bot.migrations.
# requirements.lock pins every dependency to the versions the tests ran with: a rebuild a month later
# installs the same code (-c: constraints, so nothing outside the package's own needs is added).
COPY pyproject.toml README.md requirements.lock ./
COPY bot ./bot
COPY migrations ./migrations
RUN pip wheel --wheel-dir /wheels -c requirements.lock ".[postgres,metrics]"

# --- run ------------------------------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    BOT_DB_PATH=/data/advocacy-bot.sqlite3 \
    FEEDS_CONFIG=/app/feeds.yaml

# The wheels are mounted for this one step, not copied: they never become a layer of the image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels "advocacy-bot[postgres,metrics]"

# A system user without a login shell owns only /data: the code and feeds.yaml stay read-only to it.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin bot \
    && mkdir -p /app /data \
    && chown bot:bot /data

WORKDIR /app
COPY feeds.yaml /app/feeds.yaml

USER bot:bot
# Declared after the chown, so a new named volume starts owned by the bot user.
VOLUME ["/data"]

# METRICS_PORT (unset by default) serves Prometheus metrics on that port; publish it to scrape them.
# `run` polls feeds and delivers alerts; a heartbeat job writes to the database every 30 s and
# `healthcheck` exits 0 only while that heartbeat is recent. The start period covers start-up and the
# first tick.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["advocacy-bot", "healthcheck"]

# `run` refuses an out-of-date schema, so every start first brings it up to date (a no-op when it is), then
# `exec` hands the process over, so the command itself receives SIGTERM and SIGHUP.
ENTRYPOINT ["/bin/sh", "-c", "advocacy-bot db upgrade && exec \"$@\"", "advocacy-bot"]
CMD ["advocacy-bot", "run"]
