"""A bounded in-memory cache whose entries each carry their own expiry (the hot path's auth caches)."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

V = TypeVar("V")


class ExpiringCache(Generic[V]):
    """`get` returns a value until its expiry (wall-clock unix seconds, so JWT `exp` can be used as is).

    When full, expired entries are dropped first, then the oldest insertions; a flood of new keys can only push
    out other entries, never grow memory past `max_entries`.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: dict[str, tuple[V, float]] = {}

    def get(self, key: str) -> V | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] <= time.time():
            self._data.pop(key, None)
            return None
        return entry[0]

    def put(self, key: str, value: V, until: float) -> None:
        if until <= time.time():
            return
        if key not in self._data and len(self._data) >= self.max_entries:
            self._evict()
        self._data[key] = (value, until)

    def discard(self, key: str) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def _evict(self) -> None:
        now = time.time()
        for key in [k for k, (_, until) in self._data.items() if until <= now]:
            del self._data[key]
        excess = len(self._data) - self.max_entries + 1
        for key in list(self._data)[: max(excess, 0)]:  # dicts keep insertion order: oldest first
            del self._data[key]
