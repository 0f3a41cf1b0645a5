"""The local stack's AWS emulator: a moto server whose state survives restarts.

moto keeps every resource in memory. This process runs moto's WSGI app on 127.0.0.1 and pickles all of moto's
backends (every service, account and region, as one object graph, so cross-service references stay shared) to a
snapshot file: at shutdown (SIGTERM/SIGINT, after the server stopped taking requests) and every `--interval` seconds
when requests came in since the last one. At start it loads the snapshot back, so tables, objects, secrets, users,
and the ECS/ELB/autoscaling resources of model stacks come back with the same ids and ARNs, and the Pulumi state of
the model stacks still matches what exists.

    python -m services.local.emulator --port 5055 --snapshot .lisa/emulator/snapshot.pickle
"""

from __future__ import annotations

import argparse
import copyreg
import importlib.metadata
import logging
import os
import pickle
import signal
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger("emulator")

SNAPSHOT_FORMAT = 1


# ---- pickling what moto holds that pickle cannot take as is
def _load_private_key(der: bytes):
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(der, password=None)


def _reduce_private_key(key):
    from cryptography.hazmat.primitives import serialization as s

    return _load_private_key, (key.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption()),)


def _new_lock(reentrant: bool):
    return threading.RLock() if reentrant else threading.Lock()


def register_reducers() -> None:
    """Private keys (Cognito's signing key, KMS keys) as DER; locks as fresh unlocked locks."""
    from cryptography.hazmat.bindings._rust import openssl as rust

    for module, name in ((rust.rsa, "RSAPrivateKey"), (rust.ec, "ECPrivateKey"), (rust.ed25519, "Ed25519PrivateKey")):
        key_type = getattr(module, name, None)
        if key_type is not None:
            copyreg.pickle(key_type, _reduce_private_key)
    copyreg.pickle(type(threading.Lock()), lambda _: (_new_lock, (False,)))
    copyreg.pickle(type(threading.RLock()), lambda _: (_new_lock, (True,)))


# ---- snapshot and restore of moto's backends
_BACKEND_DICT_OWN = {"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"}


def _backend_dicts():
    from moto.core.base_backend import BackendDict

    return list(BackendDict._instances)


def snapshot_state() -> bytes:
    """All of moto's state as bytes: {(service, account, region): backend}, pickled as one graph."""
    from moto.core.base_backend import backend_lock

    with backend_lock:
        dicts = _backend_dicts()
        state = {
            (bd.service_name, account, region): backend
            for bd in dicts
            for account, per_account in bd.items()
            for region, backend in per_account.items()
        }
        # Some services keep cross-account indexes on the BackendDict itself (S3: bucket name -> account).
        extras = {bd.service_name: {k: v for k, v in vars(bd).items() if k not in _BACKEND_DICT_OWN} for bd in dicts}
        payload = {"format": SNAPSHOT_FORMAT, "moto": importlib.metadata.version("moto"), "backends": state,
                   "extras": extras}
        return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)


def restore_state(blob: bytes) -> int:
    """Put the backends of a snapshot back in moto's registry; returns how many were restored."""
    from moto.backends import get_backend

    payload = pickle.loads(blob)
    if payload.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"unknown snapshot format {payload.get('format')!r}")
    if payload.get("moto") != importlib.metadata.version("moto"):
        log.warning("the snapshot was written by moto %s, this is moto %s; trying anyway",
                    payload.get("moto"), importlib.metadata.version("moto"))
    for service, attributes in payload.get("extras", {}).items():
        for name, value in attributes.items():
            setattr(get_backend(service), name, value)
    count = 0
    for (service, account, region), backend in payload["backends"].items():
        per_account = get_backend(service)[account]  # registers the BackendDict as in use
        dict.__setitem__(per_account, region, backend)
        count += 1
    return count


def write_snapshot(path: Path, blob: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(blob)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def load_snapshot(path: Path) -> int:
    """Restore from `path` if it exists. A snapshot that cannot be read is set aside (never deleted) and moto starts
    empty; the local stack then provisions the stage again."""
    if not path.exists():
        return 0
    try:
        return restore_state(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - any unreadable snapshot means the same thing: start empty
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        path.rename(aside)
        log.error("could not restore the emulator snapshot (%s: %s); kept it as %s and started empty",
                  type(exc).__name__, exc, aside)
        return 0


class RequestCounter:
    """WSGI middleware counting requests, so a periodic snapshot is taken only when something may have changed."""

    def __init__(self, app) -> None:
        self.app = app
        self.count = 0

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith("/moto-api"):
            self.count += 1
        return self.app(environ, start_response)


class Emulator:
    def __init__(self, host: str, port: int, snapshot: Path | None, interval: float) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        self.snapshot = snapshot
        self.interval = interval
        self.app = RequestCounter(DomainDispatcherApplication(create_backend_app))
        self.server = make_server(host, port, self.app, threaded=True, request_handler=MotoRequestHandler)
        self._saved_at_count = 0
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
                self._saved_at_count = count
                log.info("snapshot saved (%d KiB, %.2fs)", len(blob) // 1024, time.monotonic() - started)
                return
            except RuntimeError as exc:  # a request changed a dict while it was being pickled: try again
                log.debug("snapshot attempt %d failed: %s", attempt + 1, exc)
        log.error("could not save a snapshot after %d attempts", attempts)

    def _periodic(self) -> None:
        while not self._stop.wait(self.interval):
            if self.app.count != self._saved_at_count:
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
    parser.add_argument("--snapshot", type=Path, help="file to restore from at start and save to (none: in memory only)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between snapshots while in use (0: only at exit)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    register_reducers()
    if args.snapshot is not None:
        args.snapshot.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        restored = load_snapshot(args.snapshot)
        if restored:
            log.info("restored %d service backends from %s (%.2fs)", restored, args.snapshot, time.monotonic() - started)
    try:
        emulator = Emulator(args.host, args.port, args.snapshot, args.interval)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    # serve_forever runs in the main thread; a signal handler there cannot call shutdown() (it would wait on itself).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: threading.Thread(target=emulator.shutdown).start())
    log.info("listening on http://%s:%d", args.host, args.port)
    emulator.serve()
    emulator.server.server_close()
    emulator.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
