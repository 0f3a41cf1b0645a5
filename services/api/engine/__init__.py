"""The deployment engine of the api app: model stacks through the Automation API, run as background jobs."""

from __future__ import annotations

from core import aws
from core.platform import PlatformOutputs
from providers.hosted_model_plan import Readiness
from services.api.engine.jobs import DeploymentEngine, PreviewFailed
from services.api.engine.program import ProgramContext
from services.api.engine.stacks import ModelStacks, stage_key_secrets_provider
from services.api.settings import ApiSettings

__all__ = ["DeploymentEngine", "PreviewFailed", "build_engine", "readiness_rule"]


def readiness_rule(setting: str, endpoint_override: str | None) -> str:
    """`auto` means: nothing ever runs in an emulator, so there a model is ready once deployed."""
    if setting == "auto":
        return "deployed" if endpoint_override else "healthy"
    return setting


def build_engine(platform: PlatformOutputs, settings: ApiSettings) -> DeploymentEngine:
    stacks = ModelStacks(
        backend_url=settings.pulumi_backend_url or ModelStacks.default_backend(platform),
        work_dir=settings.engine_work_dir.resolve(),
        passphrase=settings.pulumi_config_passphrase.get_secret_value(),
        pulumi_root=settings.pulumi_root,
        pulumi_home=settings.pulumi_home,
        secrets_provider=settings.pulumi_secrets_provider or stage_key_secrets_provider(platform, aws.endpoint_url()),
        shared_provider_host=settings.engine_shared_provider_host,
    )
    readiness = Readiness(rule=readiness_rule(settings.model_readiness, aws.endpoint_url()),
                          timeout_seconds=settings.model_ready_timeout_s)
    context = ProgramContext(platform=platform, readiness=readiness, weights_image=settings.model_weights_image)
    return DeploymentEngine(platform, stacks, context, max_jobs=settings.engine_max_jobs,
                            events_per_model=settings.engine_events_per_model, lease_ttl=settings.engine_lease_ttl_s,
                            aws_retry_s=settings.engine_aws_retry_s,
                            routing_ack_timeout_s=settings.engine_routing_ack_timeout_s,
                            serve_stale_s=settings.engine_serve_stale_s)
