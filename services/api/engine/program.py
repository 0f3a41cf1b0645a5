"""The inline Pulumi program of one model's stack, built from its record and the platform outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pulumi

from core.models import ModelRecord
from core.platform import PlatformOutputs
from providers.hosted_model import HostedModel
from providers.hosted_model_plan import HostedModelArgs, Readiness, endpoint
from providers.litellm_registration import LiteLLMRegistration, registration_for
from providers.model_schedule import ModelSchedule


@dataclass(frozen=True)
class ProgramContext:
    platform: PlatformOutputs
    readiness: Readiness
    weights_image: str


def hosted_args(record: ModelRecord, context: ProgramContext) -> HostedModelArgs:
    platform = context.platform
    return HostedModelArgs.from_spec(
        record.spec, deployment_name=platform.deployment_name, deployment_stage=platform.deployment_stage,
        region=platform.region, hosting=platform.model_hosting, models_bucket=platform.buckets.models,
        enabled=record.enabled, weights_image=context.weights_image, readiness=context.readiness,
    )


def model_program(record: ModelRecord, context: ProgramContext, *, api_key_secret_id: str | None) -> Callable[[], None]:
    """HostedModel (for a model with containerConfig) and its LiteLLMRegistration, routable once ready and enabled;
    a hosted model with a schedule also has its EventBridge schedules (where the stage has a scheduler role)."""
    platform = context.platform

    def program() -> None:
        registration_endpoint = None
        depends_on: list[pulumi.Resource] = []
        routable: pulumi.Input[bool] = record.enabled
        if record.is_hosted:
            args = hosted_args(record, context)
            hosted = HostedModel("model", args, lease_table=platform.tables.models)
            registration_endpoint = endpoint(args)
            routable = hosted.ready.apply(lambda ready: bool(ready) and record.enabled)
            depends_on.append(hosted)
        registration = registration_for(record.spec, region=platform.region, endpoint=registration_endpoint,
                                        api_key_secret_id=api_key_secret_id)
        LiteLLMRegistration("registration", models_table=platform.tables.models, registration=registration,
                            routable=routable, opts=pulumi.ResourceOptions(depends_on=depends_on))
        scheduling = record.auto_scaling_config.scheduling if record.auto_scaling_config else None
        role = platform.model_hosting.scheduler_role_arn
        if record.is_hosted and scheduling is not None and role:
            ModelSchedule("schedule", model_id=record.model_id, config=scheduling,
                          deployment=platform.deployment_name, stage=platform.deployment_stage,
                          models_table=platform.tables.models, role_arn=role)

    return program
