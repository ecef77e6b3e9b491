"""Feeds with `full_text: true`: the article page of each new item is fetched and its main text stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.extract import main_text
from bot.storage.db import Database
from bot.stories.facts import Gazetteer
from tests.support.feedserver import FeedServer
from tests.test_pipeline import START, Clock, by_feed, gazetteer, make_config, poll, rss

__all__ = ["gazetteer"]  # the fixture, imported so pytest finds it here

# make_config ends the feeds list with the last feed's lines, so this line belongs to that feed.
FULL_TEXT = "    full_text: true"
TEASER = "Families in Seoul are waiting for word of relatives detained in Liaoning."

NAV = "Home | World | Asia | Opinion | Subscribe to our newsletter"
COOKIES = "We use cookies to improve your visit. Accept all cookies or manage your preferences."
FOOTER = "Copyright 2023 Border Monitor Media. All rights reserved. Contact the newsroom. Privacy policy."
BODY = [
    "Chinese security forces forcibly returned dozens of North Korean escapees across the Yalu River this week, "
    "according to two aid workers who have helped defectors hide in Liaoning province for several years.",
    "The group had been held for months in detention centres near the border. Relatives living in Seoul said they "
    "learned of the transfer only after phone calls to the detainees stopped without warning.",
    "Rights groups warned that people sent back in this way face interrogation, forced labour and long prison "
    "terms, and they called on Beijing to let the United Nations refugee agency see those still in custody.",
    "South Korea's foreign ministry said it had raised the cases with Chinese officials and would keep pressing "
    "for every escapee to be allowed to travel to the country of their choice.",
]


def article_page(paragraphs: list[str]) -> bytes:
    """A news page as sites serve them: menu, cookie banner, the article, a footer."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Escapees handed back at the border | Border Monitor</title></head><body>
<header><nav><ul>{"".join(f'<li><a href="/{w.lower()}">{w}</a></li>' for w in NAV.split(" | "))}</ul></nav></header>
<div class="cookie-banner" id="cookie-consent"><p>{COOKIES}</p><button>Accept</button></div>
<main><article><h1>Escapees handed back at the border</h1>
<p class="byline">By a staff reporter, 12 October 2023</p>{body}</article></main>
<footer><p>{FOOTER}</p><ul><li><a href="/about">About us</a></li><li><a href="/jobs">Jobs</a></li></ul></footer>
</body></html>""".encode()


def serve_feed(feed_server: FeedServer, teaser: str) -> str:
    """Serve a one-item feed whose link is /articles/1 on the same server; returns that link."""
    link = feed_server.url("/articles/1")
    item = ("Escapees handed back at the border", link, teaser, datetime(2023, 10, 12, 9, 0, tzinfo=UTC))
    feed_server.add("/monitor.xml", body=rss("Border Monitor", [item]))
    return link


def test_the_article_text_replaces_the_teaser_and_is_matched(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    link = serve_feed(feed_server, TEASER)
    feed_server.add("/articles/1", body=article_page(BODY), content_type="text/html; charset=utf-8")
    config = make_config(feed_server, {"Monitor": "/monitor.xml"}, extra=FULL_TEXT)
    assert config.feeds[0].full_text

    report = poll(config, database, Clock(START), gazetteer)

    assert by_feed(report) == {"Monitor": ("ok", 1, 1, None)}
    with database.unit_of_work() as uow:
        (stored,) = uow.items.recent_matched(None, 10)
    assert stored.topics == ("nk-repatriation",)
    assert stored.item.link == link
    assert stored.item.summary == TEASER
    for paragraph in BODY:
        assert paragraph in stored.item.content
    for chrome in ("Subscribe to our newsletter", "cookies", "All rights reserved", "About us"):
        assert chrome not in stored.item.content


def test_the_page_is_fetched_once_and_only_for_new_items(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    serve_feed(feed_server, TEASER)
    feed_server.add("/articles/1", body=article_page(BODY), content_type="text/html")
    config = make_config(feed_server, {"Monitor": "/monitor.xml"}, extra=FULL_TEXT)
    clock = Clock(START)
    poll(config, database, clock, gazetteer)
    # The feed changes (a second item) but its first item is stored already: only the new page is asked for.
    items = [
        ("Escapees handed back at the border", feed_server.url("/articles/1"), TEASER, START),
        ("A quiet day at the border", feed_server.url("/articles/2"), "Nothing else happened.", START),
    ]
    feed_server.add("/monitor.xml", body=rss("Border Monitor", items))
    clock.now += timedelta(minutes=11)
    assert by_feed(poll(config, database, clock, gazetteer)) == {"Monitor": ("ok", 1, 0, None)}
    assert feed_server.hits("/articles/1") == 1
    assert feed_server.hits("/articles/2") == 1


@pytest.mark.parametrize(
    "answer",
    ["http-500", "pdf", "no-article"],
)
def test_a_failed_page_keeps_the_teaser_and_the_feed_is_ok(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer, answer: str
) -> None:
    # This teaser matches on its own, so the item is stored with its text whatever the page gives.
    teaser = "China forcibly returned dozens of North Korean escapees this week, aid workers said."
    serve_feed(feed_server, teaser)
    if answer == "http-500":
        feed_server.fail("/articles/1", status=500, body=b"<html><body><p>Internal error</p></body></html>")
    elif answer == "pdf":
        feed_server.add("/articles/1", body=b"%PDF-1.4\n" + b"0" * 400, content_type="application/pdf")
    else:
        feed_server.add("/articles/1", body=NO_ARTICLE, content_type="text/html")
    config = make_config(feed_server, {"Monitor": "/monitor.xml"}, extra=FULL_TEXT)

    report = poll(config, database, Clock(START), gazetteer)

    assert by_feed(report) == {"Monitor": ("ok", 1, 1, None)}
    assert feed_server.hits("/articles/1") == 1
    with database.unit_of_work() as uow:
        (stored,) = uow.items.recent_matched(None, 10)
        assert uow.feeds.get("Monitor").error_count == 0
    assert stored.item.summary == teaser
    assert stored.item.content in ("", teaser)


def test_a_feed_without_the_option_fetches_no_page(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    serve_feed(feed_server, TEASER)
    feed_server.add("/articles/1", body=article_page(BODY), content_type="text/html")
    config = make_config(feed_server, {"Monitor": "/monitor.xml"})

    assert by_feed(poll(config, database, Clock(START), gazetteer)) == {"Monitor": ("ok", 1, 0, None)}
    assert feed_server.hits("/articles/1") == 0


NO_ARTICLE = f"""<!DOCTYPE html><html><head><title>Border Monitor</title></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/asia">Asia</a></nav>
<div class="cookie-banner"><p>{COOKIES}</p></div>
<ul class="headlines"><li><a href="/a">Markets close higher</a></li><li><a href="/b">Rain expected</a></li></ul>
<footer><p>{FOOTER}</p></footer></body></html>""".encode()


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (NO_ARTICLE, None),
        (b"", None),
        (b"\x00\xff not html at all \xfe", None),
        (article_page(["More details will follow."]), None),  # under the 200 characters an article needs
    ],
)
def test_main_text_finds_nothing_on_a_page_without_an_article(page: bytes, expected: str | None) -> None:
    assert main_text(page, "https://monitor.example.com/") == expected


def test_main_text_gives_paragraphs_separated_by_blank_lines() -> None:
    text = main_text(article_page(BODY), "https://monitor.example.com/articles/1")
    assert text is not None
    assert "\n\n".join(BODY) in text
    assert NAV.split(" | ")[-1] not in text
    assert FOOTER not in text
