"""Answers generated on worker threads, relayed to the event loop, and the admission that bounds how many run.

Admission: `slots` answers are generated at once (llama.cpp batches them), up to `queue` more wait their turn, and
a request past that is refused at once (429) rather than left to wait without bound. A slot is given back when its
worker thread is done, not when its client leaves, so the count is always what llama.cpp is really doing.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Executor
from typing import Callable

from services.generation.chat_request import ChatRequest
from services.generation.model import Outcome

_END = object()  # the worker is done
_GONE = object()  # the client left

Generate = Callable[[str, ChatRequest, Callable[[str], None], Callable[[], bool]], Outcome]


class Admission:
    def __init__(self, slots: int, queue: int) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._limit = slots + queue
        self.running = 0
        self.waiting = 0

    def try_enter(self) -> bool:
        """Counts a request in as waiting, unless `slots + queue` are already in."""
        if self.running + self.waiting >= self._limit:
            return False
        self.waiting += 1
        return True

    async def wait_for_slot(self) -> None:
        await self._slots.acquire()
        self.waiting -= 1
        self.running += 1

    def leave(self, *, had_slot: bool) -> None:
        if had_slot:
            self.running -= 1
            self._slots.release()
        else:
            self.waiting -= 1


class Answer:
    """One answer being generated: `next()` gives its pieces of text in order, then None."""

    def __init__(self, generate: Generate, executor: Executor, prompt: str, request: ChatRequest,
                 closing: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._stop = threading.Event()
        self.client_gone = False

        def on_text(text: str) -> None:
            loop.call_soon_threadsafe(self._queue.put_nowait, text)

        def stopped() -> bool:
            return self._stop.is_set() or closing.is_set()

        # Text the worker queued with call_soon_threadsafe is always ahead of the done callback below.
        self.done = loop.run_in_executor(executor, generate, prompt, request, on_text, stopped)
        self.done.add_done_callback(lambda _: self._queue.put_nowait(_END))

    def cancel(self) -> None:
        """The client left: stop at the next token, and stop handing out text now."""
        self.client_gone = True
        self._stop.set()
        self._queue.put_nowait(_GONE)

    async def next(self) -> str | None:
        item = await self._queue.get()
        if item is _END or item is _GONE:
            self._queue.put_nowait(item)  # later calls see the end too
            return None
        return item  # type: ignore[return-value]

    def ending(self) -> str:
        """Once done: how the answer ended (stop, length, cancelled or error), for the server's counters."""
        if self.done.cancelled() or self.done.exception() is not None:
            return "error"
        return self.done.result().finish_reason or "cancelled"

    def outcome(self) -> Outcome:
        """After `next()` returned None and the client is still there: the result, or the worker's exception."""
        return self.done.result()
