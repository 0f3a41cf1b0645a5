"""The core stack program (`__main__.py`) under Pulumi's mocks for a stage dict, through the runner `make preview`
uses too (services/local/mocked_program.py), and helpers to read what it registered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from services.local.mocked_program import (  # noqa: F401 - re-exported for the tests
    ACCOUNT,
    REPO,
    AwsMocks,
    ProgramRun,
    Registered,
    is_secret,
    plain,
)
from services.local.mocked_program import run_program as _run


def pulumi_values(stage: dict[str, Any], namespace: str = "lisa") -> dict[str, str]:
    """A stage dict as Pulumi hands config to a program: `lisa:key` → string, objects as JSON."""
    return {f"{namespace}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in stage.items()}


def stack_file_config(path: Path) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in raw.items()}


def run_program(stage: dict[str, Any], *, stack: str = "dev", mocks: AwsMocks | None = None) -> ProgramRun:
    """Run the program for `stage`; every registration and output resolved when it returns."""
    return _run(pulumi_values(stage), stack=stack, mocks=mocks or AwsMocks(stage.get("region", "us-east-1")))


def policy_documents(run: ProgramRun) -> dict[str, dict]:
    """Every IAM role policy the program registered, by resource name."""
    return {r.name: json.loads(plain(r.inputs["policy"])) for r in run.of_type("aws:iam/rolePolicy:RolePolicy")}
