"""Make the dynamic-provider process follow the Pulumi CLI that started it.

The CLI starts `python -m pulumi.dynamic` in a process group of its own and, when it exits normally, stops it. If
the CLI is killed instead (the api process crashed mid-update), the provider process is orphaned and would serve
its gRPC port forever, finishing whatever create it was in for nobody. A watchdog thread ends it as soon as its
parent is gone; the next deployment adopts what the interrupted create had made.
"""

from __future__ import annotations

import os
import sys
import threading
import time

_started = False


def in_provider_host() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", "") == "pulumi.dynamic.__main__"


def _watch(parent: int, interval: float) -> None:
    while True:
        time.sleep(interval)
        if os.getppid() != parent:
            os._exit(3)  # the CLI is gone: nobody will read our answer


def follow_parent(interval: float = 1.0) -> None:
    """Start the watchdog once, and only inside the provider host (not in the api process, nor in tests)."""
    global _started
    if _started or not in_provider_host():
        return
    _started = True
    threading.Thread(target=_watch, args=(os.getppid(), interval), name="follow-pulumi-cli", daemon=True).start()
