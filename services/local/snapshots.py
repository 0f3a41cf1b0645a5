"""Snapshots of the AWS emulator's state: all of moto's backends pickled as one object graph, and restored.

One graph, so references between services (autoscaling -> ec2, elbv2 -> ec2) stay shared after a restore. Lives
apart from the emulator's entry point so that pickled references name this module, never `__main__`.
"""

from __future__ import annotations

import collections
import copyreg
import functools
import io
import importlib.metadata
import logging
import pickle
import threading
import time
from pathlib import Path

from services.local.private_files import write_private

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


# ---- defaultdicts: moto builds some with lambda factories (not picklable by reference) and subclasses some with
# an __init__ that pickle's default reduce cannot call (SSM's ParameterDict). Both are rebuilt field by field.
_BASIC_FACTORIES = (dict, list, set, int, float, str, tuple)


def _picklable_factory(factory):
    if factory is None or "<" not in getattr(factory, "__qualname__", ""):
        return factory
    sample = factory()  # a lambda: describe what it makes, if that is something simple
    if isinstance(sample, collections.defaultdict) and not sample:
        return functools.partial(collections.defaultdict, _picklable_factory(sample.default_factory))
    if type(sample) in _BASIC_FACTORIES and sample == type(sample)():
        return type(sample)
    raise pickle.PicklingError(f"cannot describe the defaultdict factory {factory.__qualname__}")


def _rebuild_defaultdict(cls, factory, attributes, items):
    obj = cls.__new__(cls)
    collections.defaultdict.__init__(obj, factory)
    if attributes:
        obj.__dict__.update(attributes)
    dict.update(obj, items)
    return obj


def _reduce_defaultdict(obj):
    attributes = dict(vars(obj)) if hasattr(obj, "__dict__") else None
    return _rebuild_defaultdict, (type(obj), _picklable_factory(obj.default_factory), attributes, dict(obj))


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, collections.defaultdict):
            return _reduce_defaultdict(obj)
        return NotImplemented


def _dumps(payload) -> bytes:
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
        return buffer.getvalue()
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        # Something else holds a lambda: dill pickles those by value. Slower, so only when needed; pickle.loads
        # reads both once dill is imported.
        import dill

        class DillPickler(dill.Pickler):
            def reducer_override(self, obj):
                return _reduce_defaultdict(obj) if isinstance(obj, collections.defaultdict) else NotImplemented

        log.info("plain pickling failed (%s: %s); using dill", type(exc).__name__, exc)
        buffer = io.BytesIO()
        DillPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
        return buffer.getvalue()


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
        return _dumps(payload)


def restore_state(blob: bytes) -> int:
    """Put the backends of a snapshot back in moto's registry; returns how many were restored."""
    import dill  # noqa: F401 - registers what a dill-written snapshot needs to load
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
    write_private(path, blob, durable=True)  # it holds the emulator's secrets


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
