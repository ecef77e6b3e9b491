"""Shared fixtures: each lives in a module of tests/support, loaded here as a plugin."""

pytest_plugins = ["tests.support.database", "tests.support.feedserver", "tests.support.fake_telegram"]
