"""The local stack's processes: the children it starts (each in its own process group), the embedded PostgreSQL and
the embedded OpenSearch node, who runs (recorded so the next start can stop what a killed run left), and the
shutdown in reverse order."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterable

import psutil

from services.local.opensearch import EmbeddedOpenSearch
from services.local.postgres import EmbeddedPostgres
from services.local.state import StateFolder
from services.local.supervisor import Child, Console, stop_pid_group

# Seconds a child gets to stop by itself: the emulator saves its snapshot, the api may be finishing a deployment.
STOP_TIMEOUTS = {"emulator": 20, "api": 15}


class Launcher:
    def __init__(self, state: StateFolder, *, cwd: Path, console: Console) -> None:
        self.state = state
        self.cwd = cwd
        self.console = console
        self.children: list[Child] = []
        self.postgres: EmbeddedPostgres | None = None
        self.opensearch: EmbeddedOpenSearch | None = None

    @property
    def _record(self) -> Path:
        return self.state.root / "children.json"

    # ---- start
    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        child = Child(name, argv, env=env, cwd=self.cwd, log_dir=self.state.logs, console=self.console).start()
        self.children.append(child)
        self._write_record()
        return child

    def child(self, name: str) -> Child | None:
        return next((c for c in self.children if c.name == name), None)

    def pids(self) -> dict[str, int]:
        pids = {c.name: c.pid for c in self.children if c.pid is not None}
        for name, server in (("postgres", self.postgres), ("opensearch", self.opensearch)):
            if server is not None and server.process is not None:
                pids[name] = server.process.pid
        return pids

    def _write_record(self) -> None:
        """Who runs now, so a next start can stop what a killed supervisor left behind."""
        record = {}
        for child in self.children:
            try:
                record[child.name] = [child.pid, psutil.Process(child.pid).create_time()]
            except psutil.NoSuchProcess:
                continue
        self.state.write_json(self._record, record)

    def stop_leftovers(self) -> None:
        """Stop the children (and PostgreSQL, OpenSearch) an earlier run on this folder left running."""
        if self._record.exists():
            for name, (pid, created) in json.loads(self._record.read_text()).items():
                try:
                    if psutil.Process(pid).create_time() != created:
                        continue  # the pid belongs to another process by now
                except psutil.NoSuchProcess:
                    continue
                self.console.info(f"stopping {name} (pid {pid}), left running by an earlier run")
                stop_pid_group(pid, timeout=20)
            self._record.unlink(missing_ok=True)
        if self.postgres is not None:
            orphan = self.postgres.stop_orphan()
            if orphan:
                self.console.info(f"stopped PostgreSQL (pid {orphan}), left running by an earlier run")
        if self.opensearch is not None:
            orphan = self.opensearch.stop_orphan()
            if orphan:
                self.console.info(f"stopped OpenSearch (pid {orphan}), left running by an earlier run")

    # ---- run
    def first_failure(self) -> str | None:
        """What stopped, if anything did: a child's exit with its last lines, or PostgreSQL's or OpenSearch's."""
        for child in self.children:
            if not child.alive():
                return str(child.failure())
        pg = self.postgres
        if pg is not None and (pg.process is None or pg.process.poll() is not None):
            return f"PostgreSQL exited; see {pg.log_path}"
        node = self.opensearch
        if node is not None and (node.process is None or node.process.poll() is not None):
            return f"OpenSearch exited; see {node.log_path}"
        return None

    def watch(self, interval: float = 0.5) -> str:
        """Block until a child, PostgreSQL or OpenSearch exits; what happened."""
        while (failure := self.first_failure()) is None:
            time.sleep(interval)
        return failure

    # ---- stop
    def stop(self, names: Iterable[str]) -> None:
        """Stop the named children (the apps, to start them again on another platform)."""
        wanted = set(names)
        for child in [c for c in self.children if c.name in wanted]:
            child.stop()
            self.children.remove(child)
        self._write_record()

    def stop_all(self) -> bool:
        """Every child in reverse start order (the apps before the emulator and the stores they use), then
        PostgreSQL and OpenSearch. False when the emulator did not exit cleanly (its state may not have been saved)."""
        for child in reversed(self.children):
            if child.alive():
                self.console.info(f"stopping {child.name}")
            child.stop(timeout=STOP_TIMEOUTS.get(child.name, 10))
        for server in (self.postgres, self.opensearch):
            if server is not None:
                server.stop()
        self._record.unlink(missing_ok=True)
        emulator = self.child("emulator")
        if emulator is not None and emulator.process.returncode != 0:
            self.console.error(f"the AWS emulator exited with {emulator.process.returncode} while stopping; its state "
                               f"may not be saved (see {emulator.log_path})")
            return False
        return True

