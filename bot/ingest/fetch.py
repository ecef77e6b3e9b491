"""HTTP for feeds and article pages; the only module importing httpx.

Conditional GET, bounded redirects followed by hand (each hop seen, no redirect body read), one
deadline for a whole request, and a cap on the decoded body counted while streaming. Every failure
becomes a FeedError with a short, stable `kind`; no httpx exception leaves this module:
timeout, too-large, redirect-loop, http-<status>, gone (FeedGone, 410 on a feed), tls,
network (DNS, refused, reset, protocol, unsupported Content-Encoding; the detail says which), bad-url.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import zlib
from dataclasses import dataclass
from types import TracebackType

import httpx

from bot.errors import FeedError, FeedGone

_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
# Only what _Decoder undoes; brotli and zstd would need packages we do not ship.
_ACCEPT_ENCODING = "gzip, deflate"
_PERMANENT_REDIRECTS = frozenset({301, 308})
# Decoded bytes produced per zlib call: small, so a bomb never sits in memory beyond the cap.
_DECODE_STEP = 256 * 1024
_MAX_DETAIL_CHARS = 160


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Bounds on one request: whole-request deadline, decoded body size, redirect hops."""

    timeout_seconds: float = 30.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "advocacy-bot/0.1 (+https://github.com/advocacy-bot/advocacy-bot)"


@dataclass(frozen=True, slots=True)
class Fetched:
    """A feed answer. `permanent_redirect`: at least one hop and every hop 301/308, so the caller
    should store `final_url` as the feed's URL. On 304, `body` is b'' and the validators are the
    server's new ones, or the ones sent when it repeated none."""

    not_modified: bool
    body: bytes
    final_url: str
    permanent_redirect: bool
    etag: str | None
    last_modified: str | None
    content_type: str | None
    status: int


@dataclass(frozen=True, slots=True)
class _Answer:
    """The final response of a request, body read."""

    status: int
    body: bytes
    final_url: str
    permanent_redirect: bool
    headers: httpx.Headers


class Fetcher:
    """One shared httpx.AsyncClient (compression on, redirects bounded); use as
    `async with Fetcher(limits) as f`. At most `concurrency` requests run at once."""

    def __init__(self, limits: FetchLimits, concurrency: int = 8) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._limits = limits
        self._semaphore = asyncio.Semaphore(concurrency)
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        self._client = httpx.AsyncClient(
            follow_redirects=False,  # followed by hand in _get: httpx would read each hop's body
            timeout=httpx.Timeout(self._limits.timeout_seconds),
            headers={"User-Agent": self._limits.user_agent, "Accept-Encoding": _ACCEPT_ENCODING},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self, feed: str, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """GET a feed, conditionally when validators are given. Raises FeedError (FeedGone on 410)."""
        headers = {"Accept": _FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        answer = await self._get(feed, url, headers)
        if answer.status == 304:
            return Fetched(
                not_modified=True,
                body=b"",
                final_url=answer.final_url,
                permanent_redirect=answer.permanent_redirect,
                etag=answer.headers.get("etag") or etag,
                last_modified=answer.headers.get("last-modified") or last_modified,
                content_type=answer.headers.get("content-type"),
                status=304,
            )
        if answer.status == 410:
            raise FeedGone(feed, url, "gone", "the server says the feed is gone for good (HTTP 410)")
        _raise_for_status(feed, url, answer)
        return Fetched(
            not_modified=False,
            body=answer.body,
            final_url=answer.final_url,
            permanent_redirect=answer.permanent_redirect,
            etag=answer.headers.get("etag"),
            last_modified=answer.headers.get("last-modified"),
            content_type=answer.headers.get("content-type"),
            status=answer.status,
        )

    async def fetch_page(self, url: str) -> tuple[bytes, str | None]:
        """GET an article page: (body, Content-Type). Same limits; FeedError with feed '' on failure."""
        answer = await self._get("", url, {"Accept": _PAGE_ACCEPT})
        _raise_for_status("", url, answer)
        return answer.body, answer.headers.get("content-type")

    async def _get(self, feed: str, url: str, headers: dict[str, str]) -> _Answer:
        """Follow redirects and read the final body, all within the deadline."""
        if self._client is None:
            raise RuntimeError("use Fetcher inside 'async with'")
        client = self._client
        async with self._semaphore:
            try:
                async with asyncio.timeout(self._limits.timeout_seconds):
                    return await self._follow(client, feed, url, headers)
            except TimeoutError:
                detail = f"no complete answer within {self._limits.timeout_seconds:g}s"
                raise FeedError(feed, url, "timeout", detail) from None
            except httpx.TimeoutException:
                detail = f"no answer within {self._limits.timeout_seconds:g}s"
                raise FeedError(feed, url, "timeout", detail) from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise _transport_error(feed, url, exc) from exc

    async def _follow(self, client: httpx.AsyncClient, feed: str, url: str, headers: dict[str, str]) -> _Answer:
        request = client.build_request("GET", url, headers=headers)
        hops: list[int] = []
        while True:
            response = await client.send(request, stream=True)
            try:
                if response.next_request is None:
                    body = await self._read_body(feed, url, response) if response.status_code < 300 else b""
                    return _Answer(
                        status=response.status_code,
                        body=body,
                        final_url=str(response.url),
                        permanent_redirect=bool(hops) and all(s in _PERMANENT_REDIRECTS for s in hops),
                        headers=response.headers,
                    )
                hops.append(response.status_code)
                if len(hops) > self._limits.max_redirects:
                    detail = f"more than {self._limits.max_redirects} redirects"
                    raise FeedError(feed, url, "redirect-loop", detail)
                request = response.next_request
            finally:
                await response.aclose()

    async def _read_body(self, feed: str, url: str, response: httpx.Response) -> bytes:
        """The decoded body, refused as soon as it passes max_bytes (a declared length is
        checked before reading)."""
        limit = self._limits.max_bytes
        too_large = FeedError(feed, url, "too-large", f"body over {limit} bytes")
        decoder = _Decoder.for_encoding(response.headers.get("content-encoding", ""))
        if decoder is None:
            encoding = response.headers.get("content-encoding", "")
            raise FeedError(feed, url, "network", f"unsupported Content-Encoding: {encoding[:40]}")
        declared = response.headers.get("content-length", "")
        if decoder.identity and declared.isdigit() and int(declared) > limit:
            raise too_large
        parts: list[bytes] = []
        room = limit
        try:
            async for raw in response.aiter_raw():
                for piece in decoder.decode(raw, room):
                    room -= len(piece)
                    parts.append(piece)
            parts.append(decoder.flush())
        except _TooLarge:
            raise too_large from None
        except zlib.error as exc:
            raise FeedError(feed, url, "network", f"corrupt compressed body: {exc}") from None
        body = b"".join(parts)
        if len(body) > limit:
            raise too_large
        return body


class _TooLarge(Exception):
    """The decoded body would pass the cap."""


class _Decoder:
    """Undoes one Content-Encoding incrementally, never producing more than the room left + 1."""

    def __init__(self, wbits: int | None, *, raw_fallback: bool = False) -> None:
        self.identity = wbits is None
        self._raw_fallback = raw_fallback  # 'deflate' is zlib-wrapped by the spec, raw by some servers
        self._zlib = zlib.decompressobj(wbits) if wbits is not None else None
        self._started = False

    @classmethod
    def for_encoding(cls, header: str) -> _Decoder | None:
        """A decoder for a Content-Encoding header, or None when we cannot undo it."""
        codings = [c.strip().lower() for c in header.split(",") if c.strip().lower() not in ("", "identity")]
        if not codings:
            return cls(None)
        if len(codings) > 1:
            return None
        if codings[0] in ("gzip", "x-gzip"):
            return cls(16 + zlib.MAX_WBITS)
        if codings[0] == "deflate":
            return cls(zlib.MAX_WBITS, raw_fallback=True)
        return None

    def decode(self, data: bytes, room: int) -> list[bytes]:
        """Decoded pieces of `data`; raises _TooLarge once more than `room` bytes would come out."""
        if self._zlib is None:
            if len(data) > room:
                raise _TooLarge
            return [data]
        try:
            return self._inflate(data, room)
        except zlib.error:
            if self._started or not self._raw_fallback:
                raise
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self._raw_fallback = False
            return self._inflate(data, room)

    def flush(self) -> bytes:
        return self._zlib.flush() if self._zlib is not None else b""

    def _inflate(self, data: bytes, room: int) -> list[bytes]:
        assert self._zlib is not None
        pieces = []
        pending = data
        while pending:
            piece = self._zlib.decompress(pending, min(room, _DECODE_STEP) + 1)
            self._started = True
            room -= len(piece)
            if room < 0:
                raise _TooLarge
            pieces.append(piece)
            pending = self._zlib.unconsumed_tail
            if self._zlib.eof:
                break  # bytes after the end of the stream are ignored, as browsers do
        return pieces


def _raise_for_status(feed: str, url: str, answer: _Answer) -> None:
    if not 200 <= answer.status < 300:
        raise FeedError(feed, url, f"http-{answer.status}", _short(_reason(answer.status)))


def _reason(status: int) -> str:
    phrase = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {phrase}" if phrase else f"HTTP {status}"


def _transport_error(feed: str, url: str, exc: Exception) -> FeedError:
    """A FeedError for an httpx failure below HTTP: TLS, DNS, refused, reset, bad URL."""
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return FeedError(feed, url, "bad-url", _short(str(exc)))
    causes = _causes(exc)
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return FeedError(feed, url, "tls", _short(f"certificate rejected: {cause.verify_message}"))
        if isinstance(cause, ssl.SSLError):
            return FeedError(feed, url, "tls", _short(f"handshake failed: {cause.reason or cause}"))
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            return FeedError(feed, url, "network", "DNS lookup failed")
        if isinstance(cause, ConnectionRefusedError):
            return FeedError(feed, url, "network", "connection refused")
        if isinstance(cause, ConnectionResetError):
            return FeedError(feed, url, "network", "connection reset")
    if isinstance(exc, httpx.ConnectError):
        return FeedError(feed, url, "network", _short(f"cannot connect: {exc}"))
    if isinstance(exc, httpx.RemoteProtocolError):
        return FeedError(feed, url, "network", _short(f"protocol error: {exc}"))
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return FeedError(feed, url, "network", _short(f"connection broken: {exc}"))
    return FeedError(feed, url, "network", _short(f"{type(exc).__name__}: {exc}"))


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what it was raised from, outermost first (httpx wraps httpcore wraps OSError)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL_CHARS else text[: _MAX_DETAIL_CHARS - 1] + "…"
