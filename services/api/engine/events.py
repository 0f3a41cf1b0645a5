"""The deployment engine's events: Pulumi's engine events boiled down to what an admin wants to see, per model.

Only the last N events of each model are kept (in memory): enough to follow a deployment and to read why it
failed; the model record keeps the failure reason for good.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from typing import Any

from pulumi.automation import EngineEvent

from providers.drift import differences

_LOGGED_SEVERITIES = {"info", "warning", "error"}


def _resource(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def summarize(event: EngineEvent) -> dict[str, Any] | None:
    """A small JSON-able view of one Pulumi engine event, or None for noise (debug output, progress)."""
    if event.resource_pre_event:
        meta = event.resource_pre_event.metadata
        return {"type": "step", "phase": "started", "op": str(meta.op.value if hasattr(meta.op, "value") else meta.op),
                "resource": _resource(meta.urn), "resourceType": meta.type, "diffs": list(meta.diffs or [])}
    if event.res_outputs_event:
        meta = event.res_outputs_event.metadata
        return {"type": "step", "phase": "done", "op": str(meta.op.value if hasattr(meta.op, "value") else meta.op),
                "resource": _resource(meta.urn), "resourceType": meta.type}
    if event.res_op_failed_event:
        meta = event.res_op_failed_event.metadata
        return {"type": "step", "phase": "failed", "op": str(meta.op.value if hasattr(meta.op, "value") else meta.op),
                "resource": _resource(meta.urn), "resourceType": meta.type}
    if event.diagnostic_event and event.diagnostic_event.severity in _LOGGED_SEVERITIES:
        diag = event.diagnostic_event
        message = diag.message.strip()
        if message:
            return {"type": "diagnostic", "severity": diag.severity, "message": message[-4000:]}
    if event.summary_event:
        summary = event.summary_event
        return {"type": "summary", "resourceChanges": dict(summary.resource_changes or {}),
                "durationSeconds": summary.duration_seconds}
    return None


def _declared(inputs: dict[str, Any] | None) -> dict[str, Any]:
    # `__provider` is the pickled provider; `drift` is what a refresh found, not something declared.
    return {k: v for k, v in (inputs or {}).items() if not k.startswith("__") and k != "drift"}


def input_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each declared property a step changes: [{"property", "before", "after"}] (None: absent on that side)."""
    old, new = _declared(before), _declared(after)
    changed = [{"property": path, "before": was, "after": now} for path, now, was in differences(new, old)]
    seen = {c["property"] for c in changed}
    changed += [{"property": path, "before": was, "after": None} for path, was, _ in differences(old, new)
                if path not in seen]
    return sorted(changed, key=lambda c: c["property"])


_NOISE = {"update failed", "destroy failed", "preview failed", "resource monitor has terminated, shutting down"}


def _exception_line(line: str) -> str:
    """`botocore.errorfactory.ListenerNotFoundException: …` → `ListenerNotFoundException: …`."""
    return re.sub(r"^(?:[A-Za-z_][\w]*\.)+(?=\w+: )", "", line)


def failure_reason(diagnostics: list[str], fallback: str) -> str:
    """The one line that says why a deployment failed.

    A dynamic provider's failure arrives as a diagnostic carrying its Python traceback; its last non-empty line is
    the exception itself ("RuntimeError: ..."). Pulumi's own summary lines ("update failed") say less.
    """
    for message in reversed(diagnostics):
        lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
        if lines and any("Traceback (most recent call last)" in line for line in lines):
            return _exception_line(lines[-1])[:2000]
    for message in reversed(diagnostics):
        text = " ".join(line.strip() for line in message.strip().splitlines() if line.strip())
        if text and text.lower() not in _NOISE:
            return text[:2000]
    return fallback[:2000]


class EventLog:
    """The last `limit` events of each model; thread-safe (jobs write, requests read)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._events: dict[str, deque[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._sequence = 0

    def add(self, model_id: str, event: dict[str, Any]) -> None:
        with self._lock:
            self._sequence += 1
            stamped = {"sequence": self._sequence, "time": time.time(), **event}
            self._events.setdefault(model_id, deque(maxlen=self.limit)).append(stamped)

    def note(self, model_id: str, message: str, **extra: Any) -> None:
        self.add(model_id, {"type": "job", "message": message, **extra})

    def of(self, model_id: str, after: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._events.get(model_id, ()) if e["sequence"] > after]
