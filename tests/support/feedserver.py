"""A real HTTP server on 127.0.0.1 that serves feed files, for tests; loaded as a pytest plugin.

The `feed_server` fixture starts one per test (ThreadingHTTPServer on a free port, in a thread) and
stops it afterwards. Register what each path answers, then point the code under test at `url(path)`:

    feed_server.add("/bbc.xml", body=b"<rss>...</rss>", content_type="application/rss+xml",
                    etag='"v1"', last_modified="Mon, 09 Oct 2023 08:00:00 GMT")
    feed_server.add("/zip.xml", body=..., gzip=True)         # Content-Encoding: gzip when accepted
    feed_server.fail("/x.xml", status=500)                   # any status: 404, 410, 503...
    feed_server.redirect("/old.xml", "/new.xml", status=301) # chain them, or loop them
    feed_server.slow("/drip.xml", body=..., delay_per_chunk=0.5, chunk_size=16)
    feed_server.huge("/big.xml", size=8 * 2**20)             # streamed, never held in memory
    feed_server.gzip_bomb("/bomb.xml", size=50 * 2**20)      # ~50 kB on the wire, 50 MB decoded
    feed_server.reset("/reset.xml")                          # promises a body, then resets the socket
    feed_server.url("/bbc.xml")      -> "http://127.0.0.1:<port>/bbc.xml"   (feed_server.port alone too)
    feed_server.requests             -> [(target, {lowercased header: value}), ...] in arrival order
    feed_server.hits("/bbc.xml")     -> how many requests asked for that path
    feed_server.max_in_flight        -> the most requests ever received and not yet answered at once

`add` answers 304 when If-None-Match matches its etag, or (without If-None-Match) when
If-Modified-Since is not older than its last_modified, as RFC 9110 says. `delay` on `add` holds the
answer back (counted as in flight meanwhile), which makes concurrency visible. Unknown paths
answer 404.
"""

from __future__ import annotations

import contextlib
import gzip as gzip_module
import http.server
import socket
import struct
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Static:
    body: bytes
    content_type: str
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str
    status: int


@dataclass(frozen=True, slots=True)
class _Slow:
    body: bytes
    delay_per_chunk: float
    chunk_size: int
    content_type: str


@dataclass(frozen=True, slots=True)
class _Huge:
    size: int
    declare_length: bool
    content_type: str


@dataclass(frozen=True, slots=True)
class _GzipBomb:
    compressed: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class _Reset:
    sent: bytes
    promised: int


_Route = _Static | _Failure | _Redirect | _Slow | _Huge | _GzipBomb | _Reset


@dataclass(slots=True)
class _State:
    """What handler threads share with the test: routes in, requests out, under one lock."""

    routes: dict[str, _Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)


class FeedServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with a port of its own; see the module docstring."""

    def __init__(self) -> None:
        self._state = _State()
        handler = type("_BoundHandler", (_Handler,), {"state": self._state})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        # A short poll interval: shutdown() waits for the serving loop to notice, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="feed-server", daemon=True
        )

    # --- lifecycle ---

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stops serving; slow and streaming answers still running give up at their next chunk."""
        self._state.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # --- routes ---

    def add(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/rss+xml; charset=utf-8",
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        gzip: bool = False,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve `body` at `path` (gzip-encoded when `gzip` and the client accepts it)."""
        extra = tuple((headers or {}).items())
        self._route(path, _Static(body, content_type, etag, last_modified, gzip, delay, extra))

    def fail(self, path: str, status: int = 500, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Answer `status` with `body` (a short text when empty)."""
        text = body or f"status {status}\n".encode()
        self._route(path, _Failure(status, text, tuple((headers or {}).items())))

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        """Answer `status` with Location: `to` (a path on this server or any URL)."""
        self._route(path, _Redirect(to, status))

    def slow(
        self,
        path: str,
        body: bytes,
        delay_per_chunk: float = 0.5,
        chunk_size: int = 16,
        content_type: str = "application/rss+xml; charset=utf-8",
    ) -> None:
        """Send the headers at once, then `body` in `chunk_size` pieces, `delay_per_chunk` apart."""
        self._route(path, _Slow(body, delay_per_chunk, chunk_size, content_type))

    def huge(
        self,
        path: str,
        size: int,
        *,
        declare_length: bool = True,
        content_type: str = "application/rss+xml; charset=utf-8",
    ) -> None:
        """Stream `size` bytes of an RSS document that never ends (Content-Length, or chunked)."""
        self._route(path, _Huge(size, declare_length, content_type))

    def gzip_bomb(
        self, path: str, size: int = 50 * 2**20, content_type: str = "application/rss+xml; charset=utf-8"
    ) -> None:
        """Serve a small gzip body (Content-Encoding: gzip) that decompresses to `size` bytes."""
        self._route(path, _GzipBomb(_gzip_of_spaces(size), content_type))

    def reset(self, path: str, sent: bytes = b'<?xml version="1.0"?>\n<rss version="2.0"><channel>') -> None:
        """Promise a long body, send `sent`, then reset the connection (TCP RST)."""
        self._route(path, _Reset(sent, promised=len(sent) + 100_000))

    # --- what the tests read ---

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        """(request target, headers with lowercased names) of every request so far, oldest first."""
        with self._state.lock:
            return list(self._state.requests)

    def hits(self, path: str) -> int:
        """How many requests asked for `path` (query strings ignored)."""
        return sum(1 for target, _ in self.requests if urlsplit(target).path == path)

    @property
    def max_in_flight(self) -> int:
        with self._state.lock:
            return self._state.max_in_flight

    def _route(self, path: str, route: _Route) -> None:
        with self._state.lock:
            self._state.routes[path] = route


class _QuietServer(http.server.ThreadingHTTPServer):
    """Handler threads are daemons; a client hanging up on a kept-alive connection is no error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers one request from the routes in `state`."""

    state: _State
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as real feed servers do
    timeout = 10  # an idle keep-alive connection does not pin a thread forever

    def do_GET(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        state = self.state
        with state.lock:
            state.requests.append((self.path, headers))
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            route = state.routes.get(urlsplit(self.path).path)
        try:
            # Held before any byte of the answer goes out: a client that saw its answer and sent the
            # next request must not find this one still counted.
            stopping = isinstance(route, _Static) and route.delay > 0 and state.closing.wait(route.delay)
        finally:
            with state.lock:
                state.in_flight -= 1
        if stopping:
            return
        # The client may hang up midway (a timeout, a size cap): exactly what some tests provoke.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(route, headers)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def _answer(self, route: _Route | None, headers: dict[str, str]) -> None:
        match route:
            case None:
                self._simple(404, b"no such feed\n", "text/plain")
            case _Static():
                self._static(route, headers)
            case _Failure(status, body, extra):
                self._simple(status, body, "text/plain", extra)
            case _Redirect(location, status):
                self._simple(status, b"", "text/plain", (("Location", location),))
            case _Slow():
                self._slow(route)
            case _Huge():
                self._huge(route)
            case _GzipBomb(compressed, content_type):
                extra = (("Content-Encoding", "gzip"),)
                self._simple(200, compressed, content_type, extra)
            case _Reset():
                self._reset(route)

    def _simple(self, status: int, body: bytes, content_type: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _static(self, route: _Static, headers: dict[str, str]) -> None:
        validators = tuple(
            (name, value)
            for name, value in (("ETag", route.etag), ("Last-Modified", route.last_modified))
            if value is not None
        )
        if _not_modified(route, headers):
            self.send_response(304)
            for name, value in validators:
                self.send_header(name, value)
            self.end_headers()
            return
        body, extra = route.body, validators + route.headers
        if route.gzip and "gzip" in headers.get("accept-encoding", ""):
            body, extra = gzip_module.compress(body), (*extra, ("Content-Encoding", "gzip"))
        self._simple(200, body, route.content_type, extra)

    def _slow(self, route: _Slow) -> None:
        self.send_response(200)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        for start in range(0, len(route.body), route.chunk_size):
            self.wfile.write(route.body[start : start + route.chunk_size])
            self.wfile.flush()
            if self.state.closing.wait(route.delay_per_chunk):
                return

    def _huge(self, route: _Huge) -> None:
        self.send_response(200)
        self.send_header("Content-Type", route.content_type)
        if route.declare_length:
            self.send_header("Content-Length", str(route.size))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        head = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>endless</title>\n'
        filler = b"<!-- padding -->\n" * (_CHUNK // 17)
        remaining = route.size
        first = True
        while remaining > 0 and not self.state.closing.is_set():
            piece = (head + filler if first else filler)[:remaining]
            first = False
            remaining -= len(piece)
            if route.declare_length:
                self.wfile.write(piece)
            else:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        if not route.declare_length:
            self.wfile.write(b"0\r\n\r\n")

    def _reset(self, route: _Reset) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(route.promised))
        self.end_headers()
        self.wfile.write(route.sent)
        self.wfile.flush()
        # SO_LINGER with a zero timeout makes close() send RST instead of a polite FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


def _not_modified(route: _Static, headers: dict[str, str]) -> bool:
    """RFC 9110 13.1: If-None-Match decides when present; else If-Modified-Since vs Last-Modified."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return route.etag is not None and ("*" in tags or route.etag.removeprefix("W/") in tags)
    since = headers.get("if-modified-since")
    if since is None or route.last_modified is None:
        return False
    try:
        return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def _gzip_of_spaces(size: int) -> bytes:
    """A gzip stream of `size` spaces, built chunk by chunk (about 1 kB per MB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * _CHUNK
    parts = []
    for start in range(0, size, _CHUNK):
        parts.append(compressor.compress(block[: min(_CHUNK, size - start)]))
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A FeedServer running for the duration of one test."""
    server = FeedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
