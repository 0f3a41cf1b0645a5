"""Everything the engine does to the Pulumi SDK and CLI beyond their public API, in one place, for one pair of versions.

The engine runs many model stacks from one long-lived process, which Pulumi's Automation API was not tuned for.
Four changes make that fast and safe; each says below why it exists:
  1. `guard_serialize_provider`: a leak in the SDK's provider serialization (RecursionError after a few hundred);
  2. `LeanStack`: two CLI calls the SDK makes after every operation and the engine does not need (~1 s each);
  3. the shared provider host (`SharedProviderHost` in the api, `serve_shared_host` in its process): one warm
     dynamic-provider process that every CLI run attaches to through PULUMI_DEBUG_PROVIDERS, with the `Attach`
     method the SDK's host lacks, a wider thread pool, and a check that refuses callers the api did not start;
  4. `check_versions`: the above reach into internals that may change in any release, so the engine refuses to
     start on an SDK or CLI other than the ones they were written for, rather than misbehave.
Bump SDK_VERSION / CLI_VERSION only after checking each change against the new release;
tests/unit/test_pulumi_internals.py keeps them equal to the pins in requirements.txt and tools/pulumi/go.mod.

Nothing here runs at import time: the engine applies what it needs when it starts (services/api/engine/stacks.py).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import grpc
from pulumi import automation as auto

log = logging.getLogger("lisa.engine")

SDK_VERSION = "3.272.0"
CLI_VERSION = "3.274.1"
REPO_ROOT = Path(__file__).resolve().parents[3]
_MODULE = "services.api.engine.pulumi_internals"


class PulumiVersionError(RuntimeError):
    """The installed Pulumi SDK or CLI is not the version the engine's changes to it were written for."""


def check_versions(cli: object, sdk: str | None = None) -> None:
    """Refuse to run on another Pulumi: `cli` is what `pulumi version` reported (the Automation API's
    PulumiCommand.version), `sdk` the installed `pulumi` package (default: the one this process imports)."""
    sdk = sdk or importlib.metadata.version("pulumi")
    cli_version = str(cli).removeprefix("v")
    wrong = [f"the Pulumi {what} is {found}, expected {wanted}"
             for what, found, wanted in (("Python SDK", sdk, SDK_VERSION), ("CLI", cli_version, CLI_VERSION))
             if found != wanted]
    if wrong:
        raise PulumiVersionError(
            "; ".join(wrong) + ". The deployment engine patches Pulumi internals of those exact versions "
            "(services/api/engine/pulumi_internals.py): install the pinned ones (requirements.txt, "
            "tools/pulumi/go.mod; `make pulumi-cli` builds the CLI) or re-check the patches against the new release.")


# ---- 1. provider serialization --------------------------------------------------------------------------------
# SDK 3.272.0's `pulumi.dynamic.dynamic.serialize_provider` wraps `pickle._Pickler._batch_setitems` (and replaces
# `save_dict`) on every call and never restores them, so each call adds one more wrapper: after a few hundred
# serializations in one process (the api deploying model after model) the first dict pickled overflows the stack
# with RecursionError, and every other user of the pure-Python pickler (dill) pays the chain. The guard runs the
# original under a lock (it also swaps the module-global `pickle.Pickler`, which is not thread-safe) and puts back
# what it changed.
_serialize_lock = threading.Lock()
_GUARD_MARK = "_lisa_guarded"


def _guarded(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def serialize_provider(provider: Any) -> str:
        with _serialize_lock:
            saved = (pickle.Pickler, pickle._Pickler._batch_setitems, pickle._Pickler.save_dict)
            try:
                return original(provider)
            finally:
                pickle.Pickler, pickle._Pickler._batch_setitems, pickle._Pickler.save_dict = saved

    setattr(serialize_provider, _GUARD_MARK, True)
    serialize_provider.__wrapped__ = original  # type: ignore[attr-defined]
    return serialize_provider


def guard_serialize_provider() -> None:
    """Replace the SDK's function with the guarded one (idempotent); `Resource.__init__` looks it up per call."""
    from pulumi.dynamic import dynamic

    if not getattr(dynamic.serialize_provider, _GUARD_MARK, False):
        dynamic.serialize_provider = _guarded(dynamic.serialize_provider)


# ---- 2. leaner stack operations -------------------------------------------------------------------------------
class LeanStack(auto.Stack):
    """Skips the `stack output` (twice) and `stack history` calls Stack.up/destroy make after every operation.

    They cost about a second per operation on a small machine; the engine reads what it needs from the event
    stream and the model registry instead. `destroy_and_remove` is one CLI run (`destroy --remove`), where the SDK's
    `destroy(remove=True)` runs `stack rm` after it (~0.25 CPU-s more; it wants the summary we skip anyway).
    """

    _remove_after_destroy = False

    def destroy_and_remove(self, on_event: Callable[[auto.EngineEvent], None]) -> None:
        self._remove_after_destroy = True
        try:
            self.destroy(on_event=on_event, color="never")
        finally:
            self._remove_after_destroy = False

    def _run_pulumi_cmd_sync(self, args: list[str], *rest: Any, **kwargs: Any) -> auto.CommandResult:
        if self._remove_after_destroy and args[:1] == ["destroy"]:
            args = [*args, "--remove"]  # the CLI removes the stack and its config file once every resource is gone
        return super()._run_pulumi_cmd_sync(args, *rest, **kwargs)

    def outputs(self) -> auto.OutputMap:
        return {}

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary:  # noqa: ARG002
        now = datetime.now(timezone.utc)
        return auto.UpdateSummary(kind="update", start_time=now, end_time=now, message="", environment={}, config={},
                                  result="succeeded")


# ---- 3. the shared provider host ------------------------------------------------------------------------------
DYNAMIC_PACKAGE = "pulumi-python"  # the package of every Python dynamic resource (pulumi-python:dynamic:Resource)


def attach_env(port: int) -> dict[str, str]:
    """What makes a CLI run use the provider at `port` instead of starting its own (the CLI then only dials it)."""
    return {"PULUMI_DEBUG_PROVIDERS": f"{DYNAMIC_PACKAGE}:{port}"}


def caller_check_supported() -> bool:
    """The host tells its callers apart through /proc (Linux); elsewhere the CLI starts a provider per run."""
    return Path("/proc/net/tcp").exists()


class SharedProviderHost:
    """The api's side of the shared host: started on first use and again if it died, in this process's group.

    Each CLI run would otherwise start its own `python -m pulumi.dynamic`, which pays ~1 s of CPU for the
    interpreter, the Pulumi SDK, boto3 and unpickling the providers before the first call.
    """

    def __init__(self, env: dict[str, str], *, workers: int = 64, start_timeout: float = 30.0) -> None:
        self.env = env
        self.workers = workers
        self.start_timeout = start_timeout
        self._process: subprocess.Popen | None = None
        self._port: int | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def port(self) -> int | None:
        return self._port if self.pid is not None else None

    def ensure(self) -> int:
        """The host's port, starting it first when it is not running."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._port = self._start()
            return self._port

    def _start(self) -> int:
        # `-c`, not `-m`: run as __main__, this module would be imported a second time by its package.
        launch = f"from {_MODULE} import serve_shared_host; serve_shared_host({int(self.workers)})"
        process = subprocess.Popen(
            [sys.executable, "-u", "-c", launch], cwd=REPO_ROOT,
            env={**os.environ, **self.env}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        ready: list[str] = []
        reader = threading.Thread(target=self._read_stdout, args=(process, ready), daemon=True,
                                  name="provider-host-stdout")
        reader.start()
        deadline = time.monotonic() + self.start_timeout
        while not ready and reader.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        line = ready[0].strip() if ready else ""
        if not line.isdigit():
            process.kill()
            process.wait(5)
            raise RuntimeError(f"the shared provider host did not start (exit {process.poll()}, said {line[:200]!r})")
        self._process = process
        return int(line)

    @staticmethod
    def _read_stdout(process: subprocess.Popen, ready: list[str]) -> None:
        """The first line is the port; the rest (whatever provider code prints) goes to the log, so that a full pipe
        never blocks the host (the CLI reads a provider's output when it starts one itself)."""
        ready.append(process.stdout.readline())
        for line in process.stdout:
            log.info("provider host: %s", line.rstrip())

    def stop(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if process is not None and process.stdout:
            process.stdout.close()


def _proc_address(host: str, port: int) -> str:
    """An IPv4 endpoint as /proc/net/tcp prints it: the address's bytes in host order, then the port, in hex."""
    return f"{int.from_bytes(socket.inet_aton(host), 'little'):08X}:{port:04X}"


def socket_inode(peer: str) -> int | None:
    """The inode of the connected TCP socket whose local end is `peer` (gRPC's "ipv4:127.0.0.1:54321"), i.e. the
    caller's end of a connection to us; None when there is none (or not over IPv4)."""
    if not peer.startswith("ipv4:"):
        return None
    host, _, port = peer.removeprefix("ipv4:").rpartition(":")
    wanted = _proc_address(host, int(port))
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[1] == wanted and fields[3] == "01":  # 01: ESTABLISHED
                return int(fields[9])
    return None


def holder_of(inode: int, pids: list[int]) -> int | None:
    """Which of `pids` holds the socket `inode` open."""
    target = f"socket:[{inode}]"
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            try:
                if os.readlink(f"{fd_dir}/{name}") == target:
                    return pid
            except OSError:
                continue
    return None


class CallerCheck:
    """Admits a call only from a process the api started (its CLI runs), refusing any other local caller.

    The host listens on a random loopback port, which any local process could dial, and what it runs creates and
    deletes cloud resources with the api's role. A secret cannot help: the CLI dials an attached provider with no
    credential of any kind (pkg/resource/plugin: `dialPlugin` on 127.0.0.1:<port>). So the host checks who is on the
    other end: the caller's socket (found in /proc/net/tcp from the peer address) must be held by a descendant of
    the api. A socket, once checked, is remembered by its inode, so each call after the first costs one table read.
    """

    def __init__(self, api_pid: int, host_pid: int) -> None:
        self.api_pid, self.host_pid = api_pid, host_pid
        self._admitted: set[int] = set()
        self._lock = threading.Lock()

    def admits(self, peer: str, *, attempts: int = 8, pause: float = 0.02, max_pause: float = 0.25) -> bool:
        """A read of /proc/net/tcp is not atomic: with sockets opening and closing meanwhile (ten CLI runs at once)
        it can skip the caller's line, and a just-started caller may not be listed as the api's child yet. So a
        caller not found is looked for again, backing off over about a second (a busy box starves the reads) before
        it is refused; a stranger is refused all the same, a second later."""
        for attempt in range(attempts):
            if self._admits_once(peer):
                return True
            if attempt + 1 < attempts:
                time.sleep(pause)
                pause = min(pause * 2, max_pause)
        log.warning("provider host: refused a call from %s (not a process the api started)", peer)
        return False

    def _admits_once(self, peer: str) -> bool:
        inode = socket_inode(peer)
        if inode is None:
            return False
        with self._lock:
            if inode in self._admitted:
                return True
        import psutil

        try:
            family = [p.pid for p in psutil.Process(self.api_pid).children(recursive=True) if p.pid != self.host_pid]
        except psutil.NoSuchProcess:
            return False
        if holder_of(inode, family) is None:
            return False
        with self._lock:
            self._admitted.add(inode)
        return True


def _guard_behaviour(behaviour: Callable, admits: Callable[[str], bool]) -> Callable:
    def guarded(request, context):
        if not admits(context.peer()):
            context.abort(grpc.StatusCode.PERMISSION_DENIED,
                          "this provider host serves only the Pulumi runs of the api that started it")
        return behaviour(request, context)

    return guarded


class RefuseStrangers(grpc.ServerInterceptor):
    """Puts CallerCheck before every method of the server, whatever its kind (unary or streaming)."""

    _KINDS = {"unary_unary": grpc.unary_unary_rpc_method_handler, "unary_stream": grpc.unary_stream_rpc_method_handler,
              "stream_unary": grpc.stream_unary_rpc_method_handler,
              "stream_stream": grpc.stream_stream_rpc_method_handler}

    def __init__(self, check: CallerCheck) -> None:
        self.check = check

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        for kind, factory in self._KINDS.items():
            behaviour = getattr(handler, kind)
            if behaviour is not None:
                return factory(_guard_behaviour(behaviour, self.check.admits),
                               request_deserializer=handler.request_deserializer,
                               response_serializer=handler.response_serializer)
        return handler


def serve_shared_host(workers: int) -> None:
    """The host process: Pulumi's own `pulumi.dynamic` host (it keeps no per-stack state and caches each provider it
    unpickles), printing its port on stdout like any plugin, with three changes made before it starts:
    - `Attach`, which the CLI calls on a provider it did not start: the SDK's servicer lacks it; a no-op (the host
      needs nothing from the engine);
    - a thread pool of `workers` (Pulumi's is 4), so that more model stacks than that can wait on AWS at once;
    - CallerCheck on every call.
    It exits when the api (its parent) is gone.
    """
    import runpy
    from concurrent import futures

    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import ResourceProviderServicer

    from providers import provider_process

    api_pid = os.getppid()
    provider_process.watch_parent()  # the api: leave with it
    ResourceProviderServicer.Attach = lambda self, request, context: empty_pb2.Empty()
    check = CallerCheck(api_pid, os.getpid())
    make_server = grpc.server

    def server(thread_pool, *args, **kwargs):
        thread_pool.shutdown(wait=False)
        pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="provider")
        return make_server(pool, *args, interceptors=[RefuseStrangers(check)], **kwargs)

    grpc.server = server
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
