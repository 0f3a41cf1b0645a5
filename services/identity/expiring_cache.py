"""A bounded in-memory cache whose entries each carry their own expiry (the hot path's auth caches)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class ExpiringCache(Generic[V]):
    """`get` returns a value until its expiry (wall-clock unix seconds, so JWT `exp` can be used as is).

    Oldest insertion first out: when full, a `put` drops exactly one entry, in constant time, so a flood of new
    keys (random tokens) costs no scan and can only push out other entries, never grow memory past `max_entries`.
    An expired entry goes when it is next read or when it is the oldest. Values live in a plain dict and the
    insertion order beside it, so a hit costs one dict lookup and nothing more (the gateway reads this on every
    request; an OrderedDict's own lookup is slower).
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: dict[str, tuple[V, float]] = {}
        self._order: OrderedDict[str, None] = OrderedDict()

    def get(self, key: str) -> V | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] <= time.time():
            self.discard(key)
            return None
        return entry[0]

    def put(self, key: str, value: V, until: float) -> None:
        if until <= time.time():
            return
        data, order = self._data, self._order
        if key in data:
            order.move_to_end(key)
        else:
            if len(data) >= self.max_entries:
                del data[order.popitem(last=False)[0]]
            order[key] = None
        data[key] = (value, until)

    def discard(self, key: str) -> None:
        self._data.pop(key, None)
        self._order.pop(key, None)

    def clear(self) -> None:
        self._data.clear()
        self._order.clear()

    def __len__(self) -> int:
        return len(self._data)
