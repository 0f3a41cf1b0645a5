"""The `platform` output (core.platform.PlatformOutputs) built from the stage config and resolved resource values."""

from __future__ import annotations

from typing import Any, Mapping

from core.config import StageConfig
from core.platform import PlatformOutputs

# litellm_params keys that never carry a credential. Anything else (api_key, aws_secret_access_key, headers…) might,
# so a stage whose static models use it exports `platform` as a Pulumi secret.
NON_SECRET_LITELLM_PARAMS = frozenset({
    "model", "api_base", "base_url", "api_version", "aws_region_name", "region_name", "custom_llm_provider",
    "rpm", "tpm", "timeout", "stream_timeout", "max_retries", "max_tokens", "temperature", "top_p",
    "input_cost_per_token", "output_cost_per_token", "vertex_project", "vertex_location", "drop_params",
})


def holds_secrets(config: StageConfig) -> bool:
    return any(set(entry.litellm_params.model_dump()) - NON_SECRET_LITELLM_PARAMS
               for entry in config.litellm_config.model_list)


def state_backend_url(bucket: str, region: str) -> str:
    """The Pulumi backend of the model stacks (the deployment-state bucket)."""
    return f"s3://{bucket}?region={region}&awssdk=v2"


def platform_document(
    config: StageConfig,
    *,
    account_id: str,
    tables: Mapping[str, str],
    buckets: Mapping[str, str],
    master_key_secret_id: str,
    auth: Mapping[str, Any],
    model_hosting: Mapping[str, Any],
    rag_stores: list[Mapping[str, Any]],
    serve_url: str | None = None,
    api_url: str | None = None,
    web_url: str | None = None,
) -> dict[str, Any]:
    """Validated against PlatformOutputs, so the apps can always load what the stack exports."""
    outputs = PlatformOutputs(
        deployment_name=config.deployment_name,
        deployment_stage=config.deployment_stage.value,
        region=config.region,
        account_id=account_id,
        tables=dict(tables),
        buckets=dict(buckets),
        master_key_secret_id=master_key_secret_id,
        auth=dict(auth),
        model_hosting=dict(model_hosting),
        rag_stores=[dict(s) for s in rag_stores],
        static_models=config.litellm_config.model_list,
        rate_limits=config.serve_config.rate_limits,
        litellm_settings=config.litellm_config.litellm_settings,
        max_gpu_instances=config.max_gpu_instances,
        rag_pipeline_buckets=config.rag_pipeline_buckets,
        serve_url=serve_url,
        api_url=api_url,
        web_url=web_url,
        state_backend_url=state_backend_url(buckets["deploymentState"], config.region),
    )
    return outputs.model_dump(mode="json", exclude_none=True)
