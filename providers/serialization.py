"""A guard around the Pulumi SDK's `serialize_provider`, for processes that declare many dynamic resources.

SDK 3.272.0's `pulumi.dynamic.dynamic.serialize_provider` wraps `pickle._Pickler._batch_setitems` (and replaces
`save_dict`) on every call and never restores them, so each call adds one more wrapper: after a few hundred
serializations in one long-running process (the api app deploying model after model), the first dict pickled
overflows the stack with RecursionError, and every other user of the pure-Python pickler (dill) pays the chain.
The guard runs the original under a lock (it also swaps the module-global `pickle.Pickler`, which is not
thread-safe) and puts back what it changed.
"""

from __future__ import annotations

import pickle
import threading
from typing import Any

from pulumi.dynamic import dynamic

_lock = threading.Lock()
_GUARD_MARK = "_lisa_guarded"


def _guard(original: Any) -> Any:
    def serialize_provider(provider: Any) -> str:
        with _lock:
            saved = (pickle.Pickler, pickle._Pickler._batch_setitems, pickle._Pickler.save_dict)
            try:
                return original(provider)
            finally:
                pickle.Pickler, pickle._Pickler._batch_setitems, pickle._Pickler.save_dict = saved

    setattr(serialize_provider, _GUARD_MARK, True)
    serialize_provider.__wrapped__ = original  # type: ignore[attr-defined]
    return serialize_provider


def install() -> None:
    """Replace the SDK's function with the guarded one (idempotent). `Resource.__init__` looks it up per call."""
    if not getattr(dynamic.serialize_provider, _GUARD_MARK, False):
        dynamic.serialize_provider = _guard(dynamic.serialize_provider)
