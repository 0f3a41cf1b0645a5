"""The dynamic-provider process: make it follow whoever started it, and run one shared by many CLI runs.

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


def serve_shared(workers: int) -> None:
    """Run one long-lived provider host that every Pulumi CLI run of this api attaches to.

    Each CLI run would otherwise start its own `python -m pulumi.dynamic`, which pays ~1 s of CPU for the
    interpreter, the Pulumi SDK, boto3 and unpickling the providers before the first call. The host is Pulumi's own
    (`pulumi.dynamic.__main__`): it keeps no per-stack state, and it caches each provider it unpickles. It prints its
    port on stdout like any plugin; the api hands it to the CLI through PULUMI_DEBUG_PROVIDERS. Two additions:
    `Attach`, which the CLI calls on a provider it did not start (a no-op: the host needs nothing from the engine),
    and a wider thread pool (Pulumi's is 4), so that more model stacks than that can wait on AWS at the same time.
    """
    import runpy
    from concurrent import futures

    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import ResourceProviderServicer

    ResourceProviderServicer.Attach = lambda self, request, context: empty_pb2.Empty()

    # The api is our parent: leave with it (follow_parent watches only a host the CLI started).
    threading.Thread(target=_watch, args=(os.getppid(), 1.0), name="follow-api", daemon=True).start()

    make_server = grpc.server

    def wider_server(thread_pool, *args, **kwargs):
        thread_pool.shutdown(wait=False)
        pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="provider")
        return make_server(pool, *args, **kwargs)

    grpc.server = wider_server
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    serve_shared(int(sys.argv[1]) if len(sys.argv) > 1 else 64)
