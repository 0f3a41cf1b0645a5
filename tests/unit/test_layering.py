"""The layers of DESIGN.md, read from the source with ast (nothing is imported): components/ and providers/ never
import services/; core/ imports nothing of ours outside core/; serve and the api never import each other; no import
cycle among our modules (imports inside functions count: they run too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "components", "providers", "services")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _our_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            modules[_module_name(path)] = path
    modules["__main__"] = REPO / "__main__.py"
    return modules


MODULES = _our_modules()


def _resolve(name: str) -> str | None:
    """The module of ours that `name` (a module, or a name inside one) lives in; None for everyone else's."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> set[str]:
    """Our modules that `module` imports, anywhere in its body (a package's __init__, imported on the way to any of
    its modules, counts only when named itself)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` imports that module; `from module import name`, the module.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        found |= {m for m in map(_resolve, names) if m is not None and m != module}
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{m} imports {target}" for m, targets in GRAPH.items() if m == layer or m.startswith(f"{layer}.")
                  for target in targets if any(target == f or target.startswith(f"{f}.") for f in forbidden))


def test_the_graph_sees_our_imports():
    # A guard for the tests below: the parser finds the imports it is meant to judge.
    assert "core.aws" in GRAPH["core.registry"] or "core.dynamo" in GRAPH["core.registry"]
    assert "services.identity.authenticator" in GRAPH["services.serve.app"]


@pytest.mark.parametrize("layer", ["components", "providers"])
def test_components_and_providers_never_import_services(layer):
    assert _violations(layer, ("services",)) == []


def test_core_imports_nothing_of_ours_outside_core():
    assert _violations("core", ("components", "providers", "services", "__main__")) == []


def test_serve_and_the_api_never_import_each_other():
    assert _violations("services.serve", ("services.api",)) == []
    assert _violations("services.api", ("services.serve",)) == []


def test_shared_identity_imports_neither_app():
    assert _violations("services.identity", ("services.serve", "services.api")) == []


def test_no_import_cycles():
    cycles, state, stack = [], {}, []

    def visit(module: str) -> None:
        state[module] = "open"
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert cycles == []
