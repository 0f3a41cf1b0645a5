"""The local stack's AWS emulator: a moto server whose state survives restarts.

moto keeps every resource in memory. This process runs moto's WSGI app on 127.0.0.1 and pickles all of moto's
backends (every service, account and region, as one object graph, so cross-service references stay shared) to a
snapshot file: at shutdown (SIGTERM/SIGINT, after the server stopped taking requests), and while running once
requests that change something have stopped for 2 s (and at least every `--interval` seconds while they go on).
At start it loads the snapshot back, so tables, objects, secrets, users, and the ECS/ELB/autoscaling resources of
model stacks come back with the same ids and ARNs, and the Pulumi state of the model stacks still matches them.

    python -m services.local.emulator --port 5055 --snapshot .lisa/emulator/snapshot.pickle
"""

from __future__ import annotations

import argparse
import io
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

from services.local.ports import is_free
from services.local.snapshots import load_snapshot, register_reducers, snapshot_state, write_snapshot

log = logging.getLogger("emulator")


_READS = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "Head", "Search", "Lookup")


def operation(environ: dict) -> str | None:
    """The AWS operation of a request: JSON protocols name it in X-Amz-Target, query protocols in `Action`."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if action:
        return action[0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # put back what was read for the app
        action = parse_qs(body.decode(errors="replace")).get("Action")
        return action[0] if action else None
    return None


def changes_state(environ: dict) -> bool:
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return False
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
        return False
    name = operation(environ)
    return not (name and name.startswith(_READS))


class ChangeCounter:
    """WSGI middleware counting requests that may change state (not reads), and when the last one came, so
    snapshots are taken when something changed and not on every registry poll.

    A request counts once moto has applied it: a snapshot taken while it runs may miss it, and must then not pass
    for one that holds it (the next save, at the latest the one at exit, takes it)."""

    def __init__(self, app) -> None:
        self.app = app
        self.count = 0
        self.last_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not changes_state(environ):
            return self.app(environ, start_response)
        try:
            return self.app(environ, start_response)
        finally:
            with self._lock:
                self.count += 1
                self.last_at = time.monotonic()


class Emulator:
    def __init__(self, host: str, port: int, snapshot: Path | None, interval: float, quiet: float = 2.0) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        self.snapshot = snapshot
        self.interval = interval
        self.quiet = quiet
        self.saved_at = time.monotonic()
        self.app = ChangeCounter(DomainDispatcherApplication(create_backend_app))
        self.server = make_server(host, port, self.app, threaded=True, request_handler=MotoRequestHandler)
        self.saved_at_count = 0
        self._stop = threading.Event()

    def save(self, attempts: int = 3) -> None:
        if self.snapshot is None:
            return
        count = self.app.count
        for attempt in range(attempts):
            try:
                started = time.monotonic()
                blob = snapshot_state()
                write_snapshot(self.snapshot, blob)
                self.saved_at_count = count
                self.saved_at = time.monotonic()
                log.info("snapshot saved (%d KiB, %.2fs)", len(blob) // 1024, time.monotonic() - started)
                return
            except RuntimeError as exc:  # a request changed a dict while it was being pickled: try again
                log.debug("snapshot attempt %d failed: %s", attempt + 1, exc)
            except Exception as exc:  # noqa: BLE001 - keep serving; say what could not be saved
                log.error("could not save a snapshot: %s: %s", type(exc).__name__, exc)
                return
        log.error("could not save a snapshot after %d attempts", attempts)

    @property
    def unsaved(self) -> bool:
        """A change was applied since the last snapshot began."""
        return self.app.count != self.saved_at_count

    def _periodic(self) -> None:
        # Saved once changes stop for `quiet` seconds, and at least every `interval` while they go on: a crash of
        # the emulator itself loses at most that much.
        while not self._stop.wait(0.5):
            if not self.unsaved:
                continue
            now = time.monotonic()
            if now - self.app.last_at >= self.quiet or now - self.saved_at >= self.interval:
                self.save()

    def serve(self) -> None:
        if self.snapshot is not None and self.interval > 0:
            threading.Thread(target=self._periodic, name="snapshots", daemon=True).start()
        self.server.serve_forever()

    def shutdown(self) -> None:
        self._stop.set()
        self.server.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="moto server with state snapshots (the local stack's AWS emulator)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--snapshot", type=Path,
                        help="file to restore from at start and save to (none: in memory only)")
    parser.add_argument("--interval", type=float, default=30.0,
                        help="most seconds between snapshots while changes go on (0: only at exit)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    register_reducers()
    # Listen first, restore second: clients that connect meanwhile wait in the listen queue instead of being refused,
    # so the apps can start alongside the emulator.
    # werkzeug prints its own advice and exits when the port is taken; check first to say it in one line.
    if not is_free(args.port, args.host):
        print(f"cannot listen on {args.host}:{args.port}: Address already in use", file=sys.stderr)
        return 2
    try:
        emulator = Emulator(args.host, args.port, args.snapshot, args.interval)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    # serve_forever runs in the main thread; a signal handler there cannot call shutdown() (it would wait on itself).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: threading.Thread(target=emulator.shutdown).start())
    if args.snapshot is not None:
        args.snapshot.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        restored = load_snapshot(args.snapshot)
        if restored:
            log.info("restored %d service backends from %s (%.2fs)", restored, args.snapshot,
                     time.monotonic() - started)
    log.info("serving on http://%s:%d", args.host, args.port)
    emulator.serve()
    emulator.server.server_close()
    if emulator.unsaved:
        emulator.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
