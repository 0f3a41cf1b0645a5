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
    """HostedModel (for a model with containerConfig) and its LiteLLMRegistration, routable once ready and enabled."""
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

    return program
