"""The one SSE relay: a backend's stream to the client, whatever the backend.

The stream is pumped in a task of its own while another waits for the client to leave; when it leaves first, the
pump is cancelled, which drops the upstream call (the pass-through closes its connection, LiteLLM cancels its
request). An error after the headers are out can only be an event: OpenAI's error object, which openai-python
raises as an APIError.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from services.serve.inference import Stream
from services.serve.openai_errors import as_openai_error
from services.serve.streaming import sse_error

log = logging.getLogger("lisa.serve")

SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


@dataclass
class Relayed:
    """How a stream ended, for metering: when its first bytes went out, and whether it ran to its end."""

    first_chunk_at: float | None = None
    completed: bool = False
    client_left: bool = False
    failed: bool = False


async def until_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def relay(stream: Stream, receive, send) -> Relayed:
    outcome = Relayed()
    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})

    async def pump() -> None:
        async for chunk in stream:
            if outcome.first_chunk_at is None:
                outcome.first_chunk_at = time.perf_counter()
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    pumping = asyncio.ensure_future(pump())
    watcher = asyncio.ensure_future(until_disconnect(receive))
    try:
        await asyncio.wait({pumping, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    tail = b""
    if not pumping.done():  # the client left: stop the upstream call
        outcome.client_left = True
        pumping.cancel()
    try:
        await pumping
        outcome.completed = True
    except asyncio.CancelledError:
        pass
    except Exception as exc:  # noqa: BLE001 (headers are out: the error can only be an event)
        outcome.failed = True
        error = as_openai_error(exc)
        log.warning("stream broke: %s", error.message)
        tail = sse_error("the upstream stream ended before it was complete" if error.status >= 500 else error.message,
                         error.type, error.code)
    finally:
        stream.close()
    await send({"type": "http.response.body", "body": tail, "more_body": False})
    return outcome
