"""Drift: where what AWS (or the registry) holds differs from what a dynamic resource declares.

Each provider's `read` builds the expected state of its parts from its inputs and the observed state from AWS, in
the same shape, and reports the differences as `drift` in its outputs: one entry per property, so an admin sees
"autoScalingGroup.desiredCapacity: 1 expected, 3 found" rather than "something changed".
"""

from __future__ import annotations

from typing import Any

from providers.inputs import canonical


def drift(expected: dict[str, Any], observed: dict[str, Any | None]) -> list[dict[str, Any]]:
    """Every property where AWS differs from the declaration: [{"part", "property", "expected", "actual"}].
    A part AWS no longer has is one entry with `actual` None; only what `expected` names is compared."""
    found: list[dict[str, Any]] = []
    for part, wanted in expected.items():
        actual = observed.get(part)
        if actual is None:
            found.append({"part": part, "property": "", "expected": "present", "actual": None})
            continue
        for path, want, got in differences(wanted, actual):
            found.append({"part": part, "property": path, "expected": want, "actual": got})
    return found


def differences(wanted: Any, actual: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted path, wanted, actual) for each property of `wanted` that `actual` lacks or holds otherwise."""
    if isinstance(wanted, dict):
        if not isinstance(actual, dict):
            return [(path, wanted, actual)]
        out = []
        for key, value in wanted.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append((sub, value, None))
            else:
                out.extend(differences(value, actual[key], sub))
        return out
    if isinstance(wanted, list) and isinstance(actual, list) and len(wanted) == len(actual) and all(
            isinstance(w, dict) for w in wanted):
        return [d for i, (w, a) in enumerate(zip(wanted, actual)) for d in differences(w, a, f"{path}[{i}]")]
    return [] if canonical(wanted) == canonical(actual) else [(path, wanted, actual)]
