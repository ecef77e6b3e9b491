"""Ingest: fetch a feed (httpx), parse it (feedparser), extract full text, match topics, schedule the next poll."""
