"""A lean pooled HTTP/1.1 client for OpenAI-compatible upstreams (the pass-through's hot path).

Why not httpx/aiohttp: measured on this project's 2-core box, a sequential POST cost the client ~1.7 ms (httpx) and
~0.5 ms (aiohttp) of CPU; this client — asyncio protocol + httptools' C parser, one write per request, keep-alive
pool per origin — costs a small fraction of that (see benchmarks/gateway.py). It does exactly what the gateway
needs: send one buffered request, read the status and headers, then the body whole or chunk by chunk as it arrives.

Semantics:
- connections are reused LIFO and dropped after `idle_ttl_s` idle (below uvicorn's 5 s keep-alive, so a reused
  connection is rarely one the server is closing); a reused connection that dies before any response byte is
  retried once on a new one (the keep-alive race), never after a byte has arrived;
- `timeout_s` bounds the wait for the headers and then every gap between body chunks;
- closing a response before it is complete closes its connection, which is how the upstream learns the client left.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import AsyncIterator
from urllib.parse import urlsplit

import httptools

from core.errors import UpstreamError, UpstreamTimeoutError

_PAUSE_AT = 1 << 20  # buffered stream bytes beyond which we stop reading from the upstream until the client catches up
MAX_ANSWER_BYTES = 64 << 20  # a whole (non-streamed) answer larger than this is refused: a hostile upstream's memory bomb


class UpstreamResponse:
    __slots__ = ("status", "headers", "_conn", "_chunks", "_buffered", "_waiter", "_error", "complete",
                 "_headers_done", "_timer", "_timeout", "_loop", "bytes_received", "_paused", "_until_close",
                 "_last_activity", "_limit")

    def __init__(self, conn: _Connection, timeout: float) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False
        self.bytes_received = 0
        self._conn = conn
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._waiter: asyncio.Future | None = None
        self._error: BaseException | None = None
        self._headers_done = False
        self._paused = False
        self._until_close = False
        self._limit: int | None = None  # set by read(): the whole body is wanted, up to this many bytes
        self._loop = conn.loop
        self._timeout = timeout
        self._last_activity = self._loop.time()
        # One timer per response: on firing it re-arms itself for what is left since the last activity.
        self._timer = self._loop.call_later(timeout, self._on_timeout)

    # what the caller uses ----------------------------------------------------------------------------------------
    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    async def read(self, limit: int = MAX_ANSWER_BYTES) -> bytes:
        """The whole body; UpstreamError when it is larger than `limit` bytes."""
        declared = self.header(b"content-length")
        if self._buffered > limit or (declared is not None and declared.isdigit() and int(declared) > limit):
            self.close()
            raise _too_large(limit)
        self._limit = limit
        if self._paused:  # bytes that arrived before this call paused the transport (a stream's back-pressure)
            self._paused = False
            self._conn.resume()
        while not self.complete:
            await self._wait()
        return b"".join(self._chunks)


    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; raises UpstreamError if the upstream stops half-way."""
        while True:
            if self._chunks:
                data = b"".join(self._chunks)
                self._chunks.clear()
                self._buffered = 0
                if self._paused:
                    self._paused = False
                    self._conn.resume()
                yield data
            elif self.complete:
                return
            else:
                await self._wait()

    def close(self) -> None:
        """Done with it: an incomplete response takes its connection down with it."""
        self._timer.cancel()
        if not self.complete:
            self._fail(UpstreamError("the response was abandoned"))
            self._conn.close()

    # internals -------------------------------------------------------------------------------------------------
    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        if self._error is not None and not self.complete:
            raise self._error

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _on_timeout(self) -> None:
        idle = self._loop.time() - self._last_activity
        if idle < self._timeout and not self.complete and self._error is None:
            self._timer = self._loop.call_later(self._timeout - idle, self._on_timeout)
            return
        if not self.complete:
            self._fail(UpstreamTimeoutError(f"the upstream did not answer within {self._timeout:g} s"))
            self._conn.close()

    def _fail(self, error: BaseException) -> None:
        if self._error is None and not self.complete:
            self._error = error
            self._timer.cancel()
            self._wake()

    def _on_headers(self, status: int, until_close: bool) -> None:
        self.status = status
        self._headers_done = True
        self._until_close = until_close
        self._last_activity = self._loop.time()
        self._wake()

    def _on_body(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._limit is not None:
            if self._buffered > self._limit:
                self._fail(_too_large(self._limit))
                self._conn.close()
                return
        elif self._buffered > _PAUSE_AT and not self._paused:
            self._paused = True
            self._conn.pause()
        self._last_activity = self._loop.time()
        self._wake()

    def _on_complete(self) -> None:
        self.complete = True
        self._timer.cancel()
        self._wake()


def _too_large(limit: int) -> UpstreamError:
    return UpstreamError(f"the upstream's answer is larger than {limit >> 20} MiB")


class _Connection(asyncio.Protocol):
    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: UpstreamResponse | None = None
        self.closed = False
        self.idle_since = 0.0
        self._status = 0

    # protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None:  # bytes while idle: the connection is in an unknown state
            self.close()
            return
        response.bytes_received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            response._fail(UpstreamError("the upstream sent an invalid HTTP response"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        response = self.response
        if response is not None and not response.complete:
            if response._headers_done and response._until_close:
                response._on_complete()
            else:
                response._fail(UpstreamError("the upstream closed the connection before the response was complete"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.response.headers.append((name.lower(), value))  # type: ignore[union-attr]

    def on_headers_complete(self) -> None:
        response = self.response
        status = self.parser.get_status_code()
        until_close = (response.header(b"content-length") is None and response.header(b"transfer-encoding") is None)
        response._on_headers(status, until_close)  # type: ignore[union-attr]

    def on_body(self, body: bytes) -> None:
        self.response._on_body(body)  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        response = self.response
        keep_alive = self.parser.should_keep_alive()
        self.response = None
        response._on_complete()  # type: ignore[union-attr]
        if keep_alive and not self.closed:
            self.pool._release(self)
        else:
            self.close()

    # used by the pool and the response
    def start(self, request: bytes, timeout: float) -> UpstreamResponse:
        self.response = UpstreamResponse(self, timeout)
        self.transport.write(request)  # type: ignore[union-attr]
        return self.response

    def pause(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class UpstreamPool:
    """Keep-alive connections to one origin (scheme, host, port)."""

    def __init__(self, origin: str, *, connect_timeout_s: float = 5.0, idle_ttl_s: float = 4.0,
                 max_idle: int = 512) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {origin}")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.host_header = parts.netloc.encode()
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if parts.scheme == "https" else None
        self.connect_timeout_s = connect_timeout_s
        self.idle_ttl_s = idle_ttl_s
        self.max_idle = max_idle
        self.loop = asyncio.get_running_loop()
        self._idle: deque[_Connection] = deque()

    async def request(self, head: bytes, body: bytes, timeout_s: float) -> UpstreamResponse:
        """Send `head` (request line and headers, ending in the blank line) and `body`; returns once headers are in."""
        payload = head + body
        for attempt in range(2):
            conn, reused = await self._acquire()
            response = conn.start(payload, timeout_s)
            while not response._headers_done:
                try:
                    await response._wait()
                except UpstreamTimeoutError:
                    raise
                except UpstreamError:
                    if reused and attempt == 0 and response.bytes_received == 0:
                        break  # the keep-alive race: the server closed it as we sent; one retry on a fresh one
                    raise
            else:
                return response
        raise UpstreamError("the upstream closed the connection")  # pragma: no cover (the loop returns or raises)

    def _release(self, conn: _Connection) -> None:
        if len(self._idle) >= self.max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    async def _acquire(self) -> tuple[_Connection, bool]:
        now = time.monotonic()
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.closed or now - conn.idle_since > self.idle_ttl_s:
                conn.close()
                continue
            return conn, True
        try:
            _, conn = await asyncio.wait_for(
                self.loop.create_connection(lambda: _Connection(self), self.host, self.port, ssl=self.ssl),
                self.connect_timeout_s,
            )
        except asyncio.TimeoutError:
            raise UpstreamTimeoutError(f"could not connect to the upstream within {self.connect_timeout_s:g} s") from None
        except OSError as exc:
            raise UpstreamError(f"the upstream refused or is unreachable ({exc.strerror or type(exc).__name__})") from None
        return conn, False

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


class Upstreams:
    """One pool per origin, shared by every route (so a registry reload keeps warm connections)."""

    def __init__(self, *, connect_timeout_s: float = 5.0) -> None:
        self.connect_timeout_s = connect_timeout_s
        self._pools: dict[str, UpstreamPool] = {}

    def pool(self, url: str) -> UpstreamPool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = UpstreamPool(origin, connect_timeout_s=self.connect_timeout_s)
        return pool

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
