"""`make preview STAGE=dev`: the core stack's program run offline, listing the resources it would create.

The stage config (`Pulumi.<stage>.yaml`) goes through the same validation as `pulumi up`; then `__main__.py` runs
under Pulumi's mocks in preview mode, and every resource it registers is printed, grouped by component.

What it is not: a cloud diff. No AWS provider plugin runs offline, so nothing is compared with what exists in an
account, computed values (ids, ARNs, DNS names) stay unknown as in a first `pulumi preview`, and nothing the
provider or AWS would check (quotas, instance types offered in the region, names already taken) is checked.

    python -m services.local.preview --stage dev [--config-file Pulumi.dev.yaml]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import config_from_pulumi_values, parse_stage_config
from core.errors import ConfigError
from services.local import mocked_program
from services.local.mocked_program import AwsMocks
from services.local.settings import REPO
from services.local.stage import read_pulumi_values

PLACEHOLDER_ACCOUNT = "000000000000"
SECRET_PLACEHOLDER = "sk-secret-not-decrypted-offline"

DISCLAIMER = """\
This is the program's resource graph, not a cloud diff. The stage config was validated and the program ran as it
would under `pulumi up`, but no AWS provider plugin runs offline: nothing was compared with an account (all of the
above would be created in an empty one), computed values (ids, ARNs, DNS names) are unknown, no image was built,
and checks only AWS makes (quotas, instance types offered in the region, names already taken) were not made.
For a diff against an account, run `pulumi preview -s {stage}` with the AWS provider and credentials."""


@dataclass
class Node:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    children: list[Node] = field(default_factory=list)


def decrypt_nothing(values: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Pulumi `secure:` values cannot be read offline: the master key gets a valid placeholder, others are noted."""
    out, notes = {}, []
    for key, value in values.items():
        try:
            parsed = json.loads(value)
        except ValueError:
            out[key] = value
            continue
        out[key] = json.dumps(_replace_secure(parsed, key, notes))
    return out, notes


def _replace_secure(value: Any, path: str, notes: list[str]) -> Any:
    if isinstance(value, dict) and set(value) == {"secure"}:
        notes.append(f"{path} is a Pulumi secret; not decrypted offline (a placeholder stands in)")
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: _replace_secure(v, f"{path}.{k}", notes) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_secure(v, f"{path}[{i}]", notes) for i, v in enumerate(value)]
    return value


def build_tree(nodes: list[Node]) -> list[Node]:
    """Top-level nodes (children of the stack), each with its children, in registration order."""
    by_urn = {n.urn: n for n in nodes}
    roots = []
    for node in nodes:
        if node.type == "pulumi:pulumi:Stack":
            continue
        parent = by_urn.get(node.parent)
        if parent is None or parent.type == "pulumi:pulumi:Stack":
            roots.append(node)
        else:
            parent.children.append(node)
    return roots


def count_custom(node: Node) -> int:
    return int(node.custom) + sum(count_custom(c) for c in node.children)


def render(roots: list[Node], *, stage: str, config_summary: str, notes: list[str]) -> str:
    lines = [f"LISA core stack, stage {stage}: the resources its program would create (offline preview)",
             f"  config: {config_summary}"]
    lines += [f"  note: {note}" for note in notes]
    lines.append("")
    width = max((len(n) for n in _names(roots)), default=20) + 2
    for root in roots:
        if root.custom:
            lines.append(f"{root.name:<{width + 2}}{root.type}")
        else:
            lines.append(f"{root.name}  ({root.type}, {count_custom(root)} resources)")
            lines += _render_children(root, "  ", width)
        lines.append("")
    components = sum(1 for r in roots if not r.custom)
    lines += [f"{sum(count_custom(r) for r in roots)} resources in {components} components.", "",
              DISCLAIMER.format(stage=stage), ""]
    return "\n".join(lines)


def _render_children(node: Node, indent: str, width: int) -> list[str]:
    resources = sorted((c for c in node.children if c.custom), key=lambda c: (c.type, c.name))
    lines = [f"{indent}{c.name:<{width + 2 - len(indent)}}{c.type}" for c in resources]
    for child in (c for c in node.children if not c.custom):
        lines.append(f"{indent}{child.name}  ({child.type}, {count_custom(child)} resources)")
        lines += _render_children(child, indent + "  ", width)
    return lines


def _names(nodes: list[Node]):
    for node in nodes:
        yield node.name
        yield from _names(node.children)


def run_program(values: dict[str, str], *, stage: str, region: str, account: str) -> list[Node]:
    """Run __main__.py under Pulumi's mocks in preview mode (computed values unknown); every registration."""
    mocks = AwsMocks(region, account, computed=False)
    run = mocked_program.run_program(values, stack=stage, mocks=mocks, preview=True)
    return [Node(r.urn, r.typ, r.name, r.parent, r.custom) for r in run.resources]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.local.preview", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--config-file", type=Path, help="default: Pulumi.<stage>.yaml in the repository")
    args = parser.parse_args(argv)
    path = args.config_file or REPO / f"Pulumi.{args.stage}.yaml"
    if not path.exists():
        print(f"error: {path} not found", file=sys.stderr)
        return 2
    values, notes = decrypt_nothing(read_pulumi_values(path))
    try:
        config = parse_stage_config(config_from_pulumi_values(values))
    except ConfigError as exc:
        print(f"error: {path.name}: {exc}", file=sys.stderr)
        return 1
    account = config.account_number or PLACEHOLDER_ACCOUNT
    if not config.account_number:
        notes.append(f"no accountNumber in the config: account {PLACEHOLDER_ACCOUNT} stands in for the caller's")
    summary = (f"{path.name} is valid (deployment {config.deployment_name}, stage {config.deployment_stage.value}, "
               f"region {config.region})")
    try:
        nodes = run_program(values, stage=args.stage, region=config.region, account=account)
    except Exception as exc:  # noqa: BLE001 - the program's own error, said plainly
        print(f"error: the program failed under the offline preview: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(render(build_tree(nodes), stage=args.stage, config_summary=summary, notes=notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
