"""The dynamic-provider process: make it follow whoever started it.

The CLI starts `python -m pulumi.dynamic` in a process group of its own and, when it exits normally, stops it. If
the CLI is killed instead (the api process crashed mid-update), the provider process is orphaned and would serve
its gRPC port forever, finishing whatever create it was in for nobody. A watchdog thread ends it as soon as its
parent is gone; the next deployment adopts what the interrupted create had made.

Nothing happens at import: `FollowingProvider.configure` (which the provider process calls once per provider it
unpickles) starts the watchdog, and only inside a provider process.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from pulumi.dynamic import ConfigureRequest, ResourceProvider

_started = False
_lock = threading.Lock()


def in_provider_host() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", "") == "pulumi.dynamic.__main__"


def _watch(parent: int, interval: float) -> None:
    while True:
        time.sleep(interval)
        if os.getppid() != parent:
            os._exit(3)  # whoever started us is gone: nobody will read our answer


def watch_parent(interval: float = 1.0) -> None:
    """Exit when this process's parent is gone (once per process)."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_watch, args=(os.getppid(), interval), name="follow-parent", daemon=True).start()


def follow_parent(interval: float = 1.0) -> None:
    """watch_parent, but only inside a provider host (not in the api process, nor in tests)."""
    if in_provider_host():
        watch_parent(interval)


class FollowingProvider(ResourceProvider):
    """The base of our dynamic providers: a provider process that loads one follows the CLI that started it."""

    def configure(self, req: ConfigureRequest) -> None:  # noqa: ARG002 - Pulumi's hook, called once per process
        follow_parent()
