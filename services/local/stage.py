"""The stage config of the local stack: the stack's own `Pulumi.<stage>.yaml`, with what cannot exist offline replaced.

Read the same way the core stack reads it (`lisa:` keys through core.config.config_from_pulumi_values, then
parse_stage_config), so a config that `pulumi up` would refuse is refused here too, with the same messages. Then:
- auth: the emulator's Cognito pool (an external OIDC provider cannot be reached offline), same admin group;
- certificate: self-signed (nothing is served over TLS locally anyway); no account pin (the emulator's account);
- the LiteLLM master key: one generated for this state folder (a `secure:` value cannot be decrypted here);
- RAG: pgvector repositories use the embedded Postgres, OpenSearch ones the embedded OpenSearch node (both kept);
- static models served by Bedrock or SageMaker are left out: with no AWS account they could only fail (and they
  would make serve load LiteLLM, seconds of start-up, for nothing).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.config import StageConfig, config_from_pulumi_values, parse_stage_config
from core.errors import ConfigError

LOCAL_STAGES = ("dev", "test")
AWS_MODEL_PROVIDERS = ("bedrock/", "sagemaker/", "sagemaker_chat/")


@dataclass
class LocalStage:
    config: StageConfig
    notes: list[str] = field(default_factory=list)  # what was changed or left out, for the banner


def stack_config_file(repo: Path, stage: str) -> Path:
    return repo / f"Pulumi.{stage}.yaml"


def read_pulumi_values(path: Path) -> dict[str, str]:
    """A stack settings file's `config:` as Pulumi hands it to a program: `{"lisa:key": "<string or JSON>"}`."""
    document = yaml.safe_load(path.read_text()) or {}
    values = {}
    for key, value in (document.get("config") or {}).items():
        values[key] = value if isinstance(value, str) else json.dumps(value)
    return values


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def localize(raw: dict[str, Any], *, master_key: str) -> tuple[dict[str, Any], list[str]]:
    """The raw stage dict with the local replacements applied, and a note per change a user should know about."""
    raw = copy.deepcopy(raw)
    notes: list[str] = []
    stage = raw.get("deploymentStage")
    if stage not in LOCAL_STAGES:
        raise ConfigError([f"deploymentStage: the local stack runs {' or '.join(LOCAL_STAGES)} stages, not {stage!r}"])
    auth = raw.get("authConfig") or {}
    if auth.get("provider") != "cognito":
        notes.append(f"auth: the emulator's Cognito pool stands in for the OIDC provider {auth.get('authority')}")
    raw["authConfig"] = {"provider": "cognito", "adminGroup": auth.get("adminGroup") or "lisa-admins"}
    # LISA's role groups mean the same in the emulator's pool (it creates them): kept as configured.
    raw["authConfig"].update({k: auth[k] for k in ("userGroup", "ragAdminGroup", "apiGroup") if auth.get(k)})
    raw["certificate"] = {"selfSigned": True}
    raw.pop("accountNumber", None)
    if isinstance(raw.get("vpc"), dict) and ("vpcId" in raw["vpc"] or "vpc_id" in raw["vpc"]):
        raw["vpc"] = {}  # an existing VPC id means nothing to the emulator; it makes its own
    litellm = raw.get("litellmConfig")
    if not isinstance(litellm, dict):
        litellm = raw["litellmConfig"] = {}
    settings = litellm.get("general_settings")
    if not isinstance(settings, dict):
        settings = litellm["general_settings"] = {}
    settings["master_key"] = master_key
    models = litellm.get("model_list") or []
    on_aws = [m for m in models if isinstance(m, dict) and
              str((m.get("litellm_params") or {}).get("model", "")).startswith(AWS_MODEL_PROVIDERS)]
    if on_aws:
        names = ", ".join(str(m.get("model_name")) for m in on_aws)
        notes.append(f"static models served by Bedrock/SageMaker left out (no AWS offline): {names}")
        litellm["model_list"] = [m for m in models if m not in on_aws]
    for entry in litellm.get("model_list") or []:
        params = entry.get("litellm_params") if isinstance(entry, dict) else None
        if isinstance(params, dict):
            for name in [k for k, v in params.items() if _is_secure(v)]:
                params.pop(name)  # encrypted with the stack's secrets provider; unreadable here
    return raw, notes


def load_local_stage(repo: Path, stage: str, *, master_key: str) -> LocalStage:
    """The validated local stage config; ConfigError names the file and every problem."""
    path = stack_config_file(repo, stage)
    if not path.exists():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in repo.glob("Pulumi.*.yaml"))
        raise ConfigError([f"{path.name} not found; stages with a config file: {', '.join(known) or 'none'}"])
    raw = config_from_pulumi_values(read_pulumi_values(path))
    try:
        parse_stage_config(raw)  # exactly what `pulumi up` would accept, before any local change hides a problem
        local, notes = localize(raw, master_key=master_key)
        return LocalStage(parse_stage_config(local), notes)
    except ConfigError as exc:
        raise ConfigError([f"{path.name}: {p}" for p in exc.problems]) from None
