"""Child processes of the local stack: started in their own process group, output prefixed with their name on the
console and kept in `<state>/logs/<name>.log`, readiness polled with a deadline, stopped with the whole group."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, TextIO

import requests

_COLORS = ["36", "35", "33", "32", "34", "96", "95", "93"]


class ChildFailed(RuntimeError):
    """A child exited while starting or running; the message carries its last lines of output."""


class Console:
    """Prefixed, line-buffered output shared by every child and the supervisor itself."""

    def __init__(self, stream: TextIO | None = None, *, errors: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.errors = errors or (sys.stderr if stream is None else self.stream)
        self.color = self.stream.isatty() and not os.environ.get("NO_COLOR")
        self._lock = threading.Lock()
        self._codes: dict[str, str] = {}

    def _prefix(self, name: str) -> str:
        label = f"{name:>10} |"
        if not self.color:
            return label
        code = self._codes.setdefault(name, _COLORS[len(self._codes) % len(_COLORS)])
        return f"\033[{code}m{label}\033[0m"

    def line(self, name: str, text: str) -> None:
        with self._lock:
            self.stream.write(f"{self._prefix(name)} {text}\n")
            self.stream.flush()

    def info(self, text: str) -> None:
        self.line("local", text)

    def error(self, text: str) -> None:
        with self._lock:
            self.stream.flush()
            prefix = "\033[31merror:\033[0m" if self.color and self.errors.isatty() else "error:"
            self.errors.write(f"{prefix} {text}\n")
            self.errors.flush()

    def block(self, text: str) -> None:
        with self._lock:
            self.stream.write(text if text.endswith("\n") else text + "\n")
            self.stream.flush()


class Child:
    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path, log_dir: Path,
                 console: Console) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.log_path = log_dir / f"{name}.log"
        self.console = console
        self.process: subprocess.Popen | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=20)
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> Child:
        self.process = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._pump = threading.Thread(target=self._copy_output, name=f"{self.name}-output", daemon=True)
        self._pump.start()
        return self

    def _copy_output(self) -> None:
        with open(self.log_path, "ab") as log:
            for raw in iter(self.process.stdout.readline, b""):
                log.write(raw)
                log.flush()
                text = raw.decode(errors="replace").rstrip()
                self._tail.append(text)
                self.console.line(self.name, text)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def failure(self) -> ChildFailed:
        if self._pump is not None:
            self._pump.join(2)  # let the last lines arrive
        code = self.process.returncode if self.process else None
        tail = "\n".join(f"    {line}" for line in list(self._tail)[-10:])
        return ChildFailed(
            f"{self.name} exited with code {code}; its last output (all of it in {self.log_path}):\n{tail}")

    def stop(self, timeout: float = 10.0) -> None:
        stop_group(self.process, timeout)
        if self._pump is not None:
            self._pump.join(2)


def stop_group(process: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """SIGTERM the child, wait, then SIGKILL whatever is left of its process group.

    Only the child gets SIGTERM, so it shuts down in its own order: the api lets a running Pulumi update go on
    while it can, instead of the CLI being terminated under it (which would mark the model Failed); what is still
    running at the deadline is killed, and the api resumes that deployment at its next start.
    """
    if process is None:
        return
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    try:  # grandchildren (a Pulumi CLI, a provider host) may outlive their parent: take the group down
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if process.poll() is None:
        process.wait(5)


def stop_pid_group(pid: int, timeout: float = 10.0) -> None:
    """stop_group for a process that is not our child (left by an earlier supervisor)."""
    import psutil

    try:
        os.killpg(pid, signal.SIGTERM)
        psutil.Process(pid).wait(timeout)
    except (ProcessLookupError, psutil.NoSuchProcess):
        pass
    except psutil.TimeoutExpired:
        pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop_server(pid: int, sig: signal.Signals, running: Callable[[], bool], timeout: float) -> None:
    """Ask a server that is not our child (left by an earlier run) to stop with `sig`; SIGKILL it at the deadline.
    `running` says whether it still runs (it re-reads the server's own lock or pid file)."""
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    if running():
        os.kill(pid, signal.SIGKILL)


def wait_until(ready: Callable[[], bool], *, what: str, timeout: float, child: Child | None = None,
               interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise child.failure()
        if ready():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} was not ready after {timeout:.0f}s")


def http_ok(url: str, *, headers: dict[str, str] | None = None) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return requests.get(url, timeout=2, headers=headers).status_code < 500
        except requests.RequestException:
            return False

    return check
