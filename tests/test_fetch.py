"""bot.fetch over real HTTP against the feed_server fixture (a threaded server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import tracemalloc
import zlib

import pytest

from bot.errors import FeedError, FeedGone
from bot.ingest.fetch import Fetched, Fetcher, FetchLimits
from tests.support.feedserver import FeedServer

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Border desk</title>'
    b"<item><title>Detainees moved toward the river crossing</title>"
    b"<link>https://news.example/a/1</link></item></channel></rss>\n"
)
LAST_MODIFIED = "Mon, 09 Oct 2023 08:00:00 GMT"
LIMITS = FetchLimits(timeout_seconds=5.0, max_bytes=256 * 1024, max_redirects=3)


def fetch(url: str, limits: FetchLimits = LIMITS, **validators: str) -> Fetched:
    async def go() -> Fetched:
        async with Fetcher(limits) as fetcher:
            return await fetcher.fetch("border-desk", url, **validators)

    return asyncio.run(go())


def fetch_error(url: str, limits: FetchLimits = LIMITS) -> FeedError:
    with pytest.raises(FeedError) as caught:
        fetch(url, limits)
    assert caught.value.feed == "border-desk"
    assert caught.value.url == url
    return caught.value


def test_200_gives_body_validators_and_type(feed_server: FeedServer) -> None:
    feed_server.add("/desk.xml", RSS, etag='"v1"', last_modified=LAST_MODIFIED)

    got = fetch(feed_server.url("/desk.xml"))

    assert got == Fetched(
        not_modified=False,
        body=RSS,
        final_url=feed_server.url("/desk.xml"),
        permanent_redirect=False,
        etag='"v1"',
        last_modified=LAST_MODIFIED,
        content_type="application/rss+xml; charset=utf-8",
        status=200,
    )


def test_second_request_with_etag_is_not_modified(feed_server: FeedServer) -> None:
    feed_server.add("/desk.xml", RSS, etag='"v1"', last_modified=LAST_MODIFIED)
    first = fetch(feed_server.url("/desk.xml"))

    second = fetch(feed_server.url("/desk.xml"), etag=first.etag or "", last_modified=first.last_modified or "")

    assert second.not_modified and second.status == 304 and second.body == b""
    assert (second.etag, second.last_modified) == ('"v1"', LAST_MODIFIED)
    sent = feed_server.requests[-1][1]
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == LAST_MODIFIED


def test_if_modified_since_alone_gives_304_and_a_changed_etag_gives_the_body(feed_server: FeedServer) -> None:
    feed_server.add("/dated.xml", RSS, last_modified=LAST_MODIFIED)
    feed_server.add("/tagged.xml", RSS, etag='"v2"')

    assert fetch(feed_server.url("/dated.xml"), last_modified=LAST_MODIFIED).not_modified
    changed = fetch(feed_server.url("/tagged.xml"), etag='"v1"')

    assert not changed.not_modified and changed.body == RSS and changed.etag == '"v2"'


def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    feed_server.add("/zipped.xml", RSS * 50, gzip=True)

    got = fetch(feed_server.url("/zipped.xml"))

    assert got.body == RSS * 50
    assert "gzip" in feed_server.requests[-1][1]["accept-encoding"]


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib-wrapped", "raw"])
def test_deflate_body_is_decoded_in_both_forms_servers_send(feed_server: FeedServer, wbits: int) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    body = compressor.compress(RSS * 20) + compressor.flush()
    feed_server.add("/deflated.xml", body, headers={"Content-Encoding": "deflate"})

    assert fetch(feed_server.url("/deflated.xml")).body == RSS * 20


def test_unknown_content_encoding_is_a_network_error(feed_server: FeedServer) -> None:
    feed_server.add("/br.xml", b"\x1b\x00", headers={"Content-Encoding": "br"})

    error = fetch_error(feed_server.url("/br.xml"))

    assert error.kind == "network" and "br" in error.detail


def test_permanent_redirects_report_the_final_url(feed_server: FeedServer) -> None:
    feed_server.redirect("/old.xml", "/moved.xml", status=301)
    feed_server.redirect("/moved.xml", "/new.xml", status=308)
    feed_server.add("/new.xml", RSS)

    got = fetch(feed_server.url("/old.xml"))

    assert got.body == RSS
    assert got.final_url == feed_server.url("/new.xml")
    assert got.permanent_redirect


@pytest.mark.parametrize("second", [302, 303, 307])
def test_one_temporary_hop_makes_the_redirect_temporary(feed_server: FeedServer, second: int) -> None:
    feed_server.redirect("/old.xml", "/moved.xml", status=301)
    feed_server.redirect("/moved.xml", "/new.xml", status=second)
    feed_server.add("/new.xml", RSS)

    got = fetch(feed_server.url("/old.xml"))

    assert got.final_url == feed_server.url("/new.xml")
    assert not got.permanent_redirect


def test_redirect_loop_is_stopped(feed_server: FeedServer) -> None:
    feed_server.redirect("/ping.xml", "/pong.xml", status=302)
    feed_server.redirect("/pong.xml", "/ping.xml", status=302)

    error = fetch_error(feed_server.url("/ping.xml"))

    assert error.kind == "redirect-loop"
    assert len(feed_server.requests) == LIMITS.max_redirects + 1


def test_redirects_up_to_the_limit_are_followed(feed_server: FeedServer) -> None:
    for hop in range(LIMITS.max_redirects):
        feed_server.redirect(f"/hop{hop}.xml", f"/hop{hop + 1}.xml", status=301)
    feed_server.add(f"/hop{LIMITS.max_redirects}.xml", RSS)

    assert fetch(feed_server.url("/hop0.xml")).body == RSS


@pytest.mark.parametrize("status", [404, 500, 503, 403])
def test_http_errors_have_the_status_in_their_kind(feed_server: FeedServer, status: int) -> None:
    feed_server.fail("/broken.xml", status=status)

    error = fetch_error(feed_server.url("/broken.xml"))

    assert error.kind == f"http-{status}"
    assert type(error) is FeedError


def test_410_means_the_feed_is_gone(feed_server: FeedServer) -> None:
    feed_server.fail("/closed.xml", status=410)

    error = fetch_error(feed_server.url("/closed.xml"))

    assert isinstance(error, FeedGone) and error.kind == "gone"


def test_slow_drip_is_cut_by_the_whole_request_deadline(feed_server: FeedServer) -> None:
    # Each chunk arrives well within any per-read timeout; only a deadline on the whole request stops it.
    feed_server.slow("/drip.xml", body=RSS * 4, delay_per_chunk=0.1, chunk_size=8)
    limits = FetchLimits(timeout_seconds=0.5, max_bytes=LIMITS.max_bytes)

    started = time.monotonic()
    error = fetch_error(feed_server.url("/drip.xml"), limits)

    assert error.kind == "timeout"
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
def test_body_over_the_cap_is_refused(feed_server: FeedServer, declare_length: bool) -> None:
    feed_server.huge("/big.xml", size=4 * 2**20, declare_length=declare_length)

    error = fetch_error(feed_server.url("/big.xml"))

    assert error.kind == "too-large"


def test_body_exactly_at_the_cap_is_accepted(feed_server: FeedServer) -> None:
    body = RSS + b" " * (LIMITS.max_bytes - len(RSS))
    feed_server.add("/full.xml", body, gzip=True)

    assert fetch(feed_server.url("/full.xml")).body == body


def test_gzip_bomb_is_refused_without_inflating_it(feed_server: FeedServer) -> None:
    feed_server.gzip_bomb("/bomb.xml", size=64 * 2**20)

    tracemalloc.start()
    try:
        error = fetch_error(feed_server.url("/bomb.xml"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert error.kind == "too-large"
    # 64 MB would have been decoded by a naive client; we hold at most the cap and one step.
    assert peak < 8 * 2**20


def test_connection_reset_midway_is_a_network_error(feed_server: FeedServer) -> None:
    feed_server.reset("/reset.xml")

    error = fetch_error(feed_server.url("/reset.xml"))

    assert error.kind == "network"


def test_dns_failure_is_a_network_error() -> None:
    error = fetch_error("http://no-such-feed.invalid/rss.xml")

    assert (error.kind, error.detail) == ("network", "DNS lookup failed")


def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, and that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    error = fetch_error(f"http://127.0.0.1:{port}/rss.xml")

    assert (error.kind, error.detail) == ("network", "connection refused")


def test_tls_failure_has_its_own_kind(feed_server: FeedServer) -> None:
    feed_server.add("/desk.xml", RSS)  # the server speaks plain HTTP: the TLS handshake fails

    error = fetch_error(feed_server.url("/desk.xml").replace("http://", "https://"))

    assert error.kind == "tls"


def test_unsupported_scheme_is_a_bad_url() -> None:
    assert fetch_error("ftp://files.example/rss.xml").kind == "bad-url"


def test_user_agent_and_accept_are_sent(feed_server: FeedServer) -> None:
    feed_server.add("/desk.xml", RSS)
    limits = FetchLimits(user_agent="test-agent/9 (+https://example.org/bot)")

    fetch(feed_server.url("/desk.xml"), limits)

    headers = feed_server.requests[-1][1]
    assert headers["user-agent"] == "test-agent/9 (+https://example.org/bot)"
    assert "application/rss+xml" in headers["accept"]


def test_concurrent_fetches_are_bounded_by_the_semaphore(feed_server: FeedServer) -> None:
    paths = [f"/feed{n}.xml" for n in range(6)]
    for path in paths:
        feed_server.add(path, RSS, delay=0.1)

    async def go() -> list[Fetched]:
        async with Fetcher(LIMITS, concurrency=2) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(p, feed_server.url(p)) for p in paths))

    results = asyncio.run(go())

    assert [r.body for r in results] == [RSS] * 6
    assert feed_server.max_in_flight == 2
    assert all(feed_server.hits(p) == 1 for p in paths)


def test_fetch_page_returns_body_and_type(feed_server: FeedServer) -> None:
    page = b"<html><body><p>Relatives say the group was taken across at dawn.</p></body></html>"
    feed_server.add("/story.html", page, "text/html; charset=utf-8", gzip=True)
    feed_server.fail("/removed.html", status=410)

    async def go() -> tuple[tuple[bytes, str | None], FeedError]:
        async with Fetcher(LIMITS) as fetcher:
            got = await fetcher.fetch_page(feed_server.url("/story.html"))
            with pytest.raises(FeedError) as caught:
                await fetcher.fetch_page(feed_server.url("/removed.html"))
            return got, caught.value

    (body, content_type), error = asyncio.run(go())

    assert body == page and content_type == "text/html; charset=utf-8"
    assert "text/html" in feed_server.requests[0][1]["accept"]
    assert type(error) is FeedError and error.kind == "http-410"


def test_fetcher_needs_its_context() -> None:
    with pytest.raises(RuntimeError):
        asyncio.run(Fetcher(LIMITS).fetch("x", "http://127.0.0.1:9/"))


def test_gzip_helper_really_compresses(feed_server: FeedServer) -> None:
    # Guards the fixture the decoding tests rely on: the wire carries gzip, not the plain body.
    feed_server.add("/zipped.xml", RSS * 50, gzip=True)

    async def raw() -> tuple[bytes, str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", feed_server.port)
        writer.write(b"GET /zipped.xml HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
        data = await reader.read()
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return body, head.decode()

    body, head = asyncio.run(raw())

    assert "Content-Encoding: gzip" in head
    assert gzip.decompress(body) == RSS * 50
