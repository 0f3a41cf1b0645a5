"""The hosted-model domain: LISA's model-management payloads, model records and statuses.

Defined once here and used by the admin API, the dynamic providers and the components alike.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, SecretStr, model_validator

from core.errors import ConflictError
from core.schedules import SchedulingConfig
from core.schema import CamelModel

MODEL_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
INSTANCE_TYPE_PATTERN = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"
# LiteLLM model strings: "<provider>/<model>", e.g. bedrock/amazon.titan-text-express-v1, openai/my-served-model.
LITELLM_MODEL_PATTERN = re.compile(r"^[a-z0-9_-]+/\S+$")

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class ModelType(str, Enum):
    TEXTGEN = "textgen"
    EMBEDDING = "embedding"


class InferenceContainer(str, Enum):
    TGI = "tgi"
    TEI = "tei"
    VLLM = "vllm"


class ModelStatus(str, Enum):
    CREATING = "Creating"
    IN_SERVICE = "InService"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    STARTING = "Starting"
    UPDATING = "Updating"
    DELETING = "Deleting"
    FAILED = "Failed"


class ContainerImage(CamelModel):
    base_image: str = Field(min_length=1, max_length=512)
    # LISA's image sources: built from a local asset, an ECR repository, or pulled as-is from a registry.
    type: Literal["asset", "ecr", "registry", "external"] = "asset"


class ContainerHealthCheckConfig(CamelModel):
    command: list[str] = Field(default_factory=lambda: ["CMD-SHELL", "exit 0"], min_length=1)
    interval: Annotated[int, Field(ge=5, le=300)] = 10
    start_period: Annotated[int, Field(ge=0, le=300)] = 30
    timeout: Annotated[int, Field(ge=2, le=120)] = 5
    retries: Annotated[int, Field(ge=1, le=10)] = 3


class ContainerConfig(CamelModel):
    image: ContainerImage
    shared_memory_size: Annotated[int, Field(ge=0, le=1_048_576)] = 2048
    health_check_config: ContainerHealthCheckConfig = Field(default_factory=ContainerHealthCheckConfig)
    environment: dict[str, str] = Field(default_factory=dict)


class MetricConfig(CamelModel):
    alb_metric_name: str = "RequestCountPerTarget"
    target_value: Annotated[float, Field(gt=0)] = 30
    duration: PositiveInt = 60
    estimated_instance_warmup: NonNegativeInt = 330


class AutoScalingConfig(CamelModel):
    min_capacity: PositiveInt = 1
    max_capacity: PositiveInt = 1
    desired_capacity: PositiveInt | None = None
    cooldown: NonNegativeInt = 420
    default_instance_warmup: NonNegativeInt = 180
    metric_config: MetricConfig = Field(default_factory=MetricConfig)
    # LISA keeps a model's start/stop schedule here (PUT /models/{id}/schedule sets it).
    scheduling: SchedulingConfig | None = None

    @model_validator(mode="after")
    def _bounds(self) -> AutoScalingConfig:
        check_capacity(self.min_capacity, self.max_capacity, self.desired_capacity)
        return self

    @property
    def effective_desired(self) -> int:
        return self.desired_capacity if self.desired_capacity is not None else self.min_capacity


class LoadBalancerHealthCheckConfig(CamelModel):
    path: str = Field(default="/health", pattern=r"^/\S*$")
    interval: Annotated[int, Field(ge=5, le=300)] = 60
    timeout: Annotated[int, Field(ge=2, le=120)] = 30
    healthy_threshold_count: Annotated[int, Field(ge=2, le=10)] = 2
    unhealthy_threshold_count: Annotated[int, Field(ge=2, le=10)] = 10


class LoadBalancerConfig(CamelModel):
    health_check_config: LoadBalancerHealthCheckConfig = Field(default_factory=LoadBalancerHealthCheckConfig)


def check_capacity(minimum: int, maximum: int, desired: int | None) -> None:
    if minimum > maximum:
        raise ValueError(f"minCapacity ({minimum}) must not exceed maxCapacity ({maximum})")
    if desired is not None and not minimum <= desired <= maximum:
        raise ValueError(f"desiredCapacity ({desired}) must be between minCapacity ({minimum}) and maxCapacity ({maximum})")


class ModelFeature(CamelModel):
    """LISA's model features (e.g. {"name": "summarization", "overview": "…"}), shown in the model library."""

    name: str = Field(min_length=1, max_length=128)
    overview: str = Field(default="", max_length=2048)


class ModelSpec(CamelModel):
    """LISA's CreateModel payload. A model without `containerConfig` is LiteLLM-only: no infrastructure is made."""

    model_id: str = Field(pattern=MODEL_ID_PATTERN, description="lowercase letters, digits and hyphens, at most 63")
    model_name: str = Field(min_length=1, max_length=256)
    model_type: ModelType = ModelType.TEXTGEN
    inference_container: InferenceContainer | None = None
    instance_type: str | None = Field(default=None, pattern=INSTANCE_TYPE_PATTERN)
    streaming: bool = False
    # LISA's model access: only members of one of these groups (and admins) see and call the model; empty: everyone.
    allowed_groups: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(default_factory=list,
                                                                                       max_length=100)
    model_url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=2048)
    # Write-only: kept in Secrets Manager, never stored in the record nor returned.
    api_key: SecretStr | None = Field(default=None, exclude=True)
    container_config: ContainerConfig | None = None
    auto_scaling_config: AutoScalingConfig | None = None
    load_balancer_config: LoadBalancerConfig | None = None
    # LISA's contextWindow (tokens): the chat fits attached documents to it.
    context_window: int | None = Field(default=None, ge=1, le=100_000_000)
    model_description: str | None = Field(default=None, max_length=4096)
    features: list[ModelFeature] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _hosting_fields(self) -> ModelSpec:
        if self.model_type is ModelType.EMBEDDING and self.streaming:
            raise ValueError("streaming: embedding models cannot stream; set streaming to false or omit it")
        hosted_only = {
            "inferenceContainer": self.inference_container,
            "instanceType": self.instance_type,
            "autoScalingConfig": self.auto_scaling_config,
            "loadBalancerConfig": self.load_balancer_config,
        }
        if self.container_config is not None:
            missing = [name for name, value in hosted_only.items() if value is None]
            if missing:
                raise ValueError(f"a model with containerConfig also needs {', '.join(missing)}")
        else:
            extra = [name for name, value in hosted_only.items() if value is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)} only apply to models with containerConfig")
            if not LITELLM_MODEL_PATTERN.match(self.model_name):
                raise ValueError(
                    "modelName: a LiteLLM-only model needs a LiteLLM model string such as "
                    "bedrock/<model>, sagemaker/<endpoint> or openai/<served name>"
                )
            if self.model_name.startswith("openai/") and self.model_url is None:
                raise ValueError("modelUrl: an openai/ model needs the base URL of its OpenAI-compatible server")
        return self

    @property
    def is_hosted(self) -> bool:
        return self.container_config is not None


class AutoScalingInstanceConfig(CamelModel):
    min_capacity: PositiveInt | None = None
    max_capacity: PositiveInt | None = None
    desired_capacity: PositiveInt | None = None
    cooldown: NonNegativeInt | None = None
    default_instance_warmup: Annotated[int, Field(ge=1, le=3600)] | None = None


class ContainerImageUpdate(CamelModel):
    """A new image for the model container (e.g. the inference server's next tag)."""

    base_image: str = Field(min_length=1, max_length=512)
    type: Literal["asset", "ecr", "registry", "external"] | None = None


class ContainerConfigUpdate(CamelModel):
    """LISA's updatable container settings (its flat health-check fields), plus the image. Each given field replaces
    the current one; `environment` replaces the whole environment."""

    image: ContainerImageUpdate | None = None
    environment: dict[str, str] | None = None
    shared_memory_size: Annotated[int, Field(ge=0, le=1_048_576)] | None = None
    health_check_command: list[str] | str | None = None
    health_check_interval: Annotated[int, Field(ge=5, le=300)] | None = None
    health_check_timeout: Annotated[int, Field(ge=2, le=120)] | None = None
    health_check_start_period: Annotated[int, Field(ge=0, le=300)] | None = None
    health_check_retries: Annotated[int, Field(ge=1, le=10)] | None = None

    def applied_to(self, current: ContainerConfig) -> ContainerConfig:
        health = current.health_check_config
        command = self.health_check_command
        if isinstance(command, str):
            command = ["CMD-SHELL", command]  # LISA's rule for a plain command
        image = current.image
        if self.image is not None:
            image = ContainerImage(base_image=self.image.base_image, type=self.image.type or current.image.type)
        return ContainerConfig(
            image=image,
            shared_memory_size=_given(self.shared_memory_size, current.shared_memory_size),
            environment=dict(_given(self.environment, current.environment)),
            health_check_config=ContainerHealthCheckConfig(
                command=_given(command, health.command) or health.command,
                interval=_given(self.health_check_interval, health.interval),
                timeout=_given(self.health_check_timeout, health.timeout),
                start_period=_given(self.health_check_start_period, health.start_period),
                retries=_given(self.health_check_retries, health.retries),
            ),
        )


def _given(value, current):
    return current if value is None else value


class UpdateModelRequest(CamelModel):
    """LISA's UpdateModel payload: metadata, capacity, container settings, or enable/disable (the last and capacity
    are mutually exclusive). Beyond LISA: `instanceType` and `inferenceContainer`, which replace the hosted model."""

    streaming: bool | None = None
    model_type: ModelType | None = None
    enabled: bool | None = None
    auto_scaling_instance_config: AutoScalingInstanceConfig | None = None
    allowed_groups: list[Annotated[str, Field(min_length=1, max_length=256)]] | None = Field(default=None,
                                                                                              max_length=100)
    model_description: str | None = Field(default=None, max_length=4096)
    features: list[ModelFeature] | None = Field(default=None, max_length=50)
    context_window: int | None = Field(default=None, ge=1, le=100_000_000)
    container_config: ContainerConfigUpdate | None = None
    instance_type: str | None = Field(default=None, pattern=INSTANCE_TYPE_PATTERN)
    inference_container: InferenceContainer | None = None

    @model_validator(mode="after")
    def _exclusive(self) -> UpdateModelRequest:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("the update names nothing to change")
        return self

    @property
    def is_metadata_only(self) -> bool:
        return all(getattr(self, name) is None for name in _DEPLOYED_UPDATE_FIELDS)


# What an update must deploy (the stack changes); the rest lives in the record (and the registration, which the
# engine rewrites only when what serve routes by changes).
_DEPLOYED_UPDATE_FIELDS = ("enabled", "auto_scaling_instance_config", "container_config", "instance_type",
                           "inference_container")
# Fields neither serve nor AWS holds: changing only these rewrites the record, with no deployment.
RECORD_ONLY_FIELDS = frozenset({"model_description", "features", "context_window"})


class DriftDifference(CamelModel):
    """One property where AWS differs from the declaration (`actual` None: the part is gone)."""

    part: str
    property: str = ""
    expected: Any = None
    actual: Any = None


class ResourceDrift(CamelModel):
    resource: str  # the resource's name in the model's stack: `model` (HostedModel) or `registration`
    type: str
    differences: list[DriftDifference] = Field(default_factory=list)


class DriftReport(CamelModel):
    """What a refresh of the model's stack found, per resource and property (without changing anything)."""

    model_id: str
    checked_at: float
    drifted: bool
    resources: list[ResourceDrift] = Field(default_factory=list)

    @property
    def summary(self) -> DriftSummary:
        return DriftSummary(checked_at=self.checked_at, drifted=self.drifted,
                            differences=sum(len(r.differences) for r in self.resources))


class DriftSummary(CamelModel):
    """The last drift check of a model, as listed with it (the badge)."""

    checked_at: float
    drifted: bool
    differences: int = 0


class ModelRecord(ModelSpec):
    """A model as the admin API lists it: the spec plus its lifecycle state."""

    # As an answer every field is there (defaults included), so its schema says they are required.
    model_config = ConfigDict(**ModelSpec.model_config, json_schema_serialization_defaults_required=True)

    status: ModelStatus = ModelStatus.CREATING
    status_reason: str | None = None
    enabled: bool = True
    created_at: float | None = None
    updated_at: float | None = None
    drift: DriftSummary | None = None

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec.model_validate(self.model_dump(include=set(ModelSpec.model_fields) - {"api_key"}, by_alias=False))


def apply_update(record: ModelRecord, request: UpdateModelRequest) -> ModelRecord:
    """The record as it will be once `request` is applied. Raises ValueError for an impossible combination."""
    if request.enabled is not None and request.auto_scaling_instance_config is not None:
        # LISA answers this with 400 InvalidInputError (its handler raises it), not a validation error.
        raise ValueError("Start or Stop operations and AutoScaling changes must happen in separate requests.")
    changes: dict = {}
    model_type = request.model_type or record.model_type
    streaming = record.streaming if request.streaming is None else request.streaming
    if request.model_type is ModelType.EMBEDDING and request.streaming is None:
        streaming = False  # becoming an embedding model turns streaming off unless the caller insists
    if model_type is ModelType.EMBEDDING and streaming:
        raise ValueError("streaming: embedding models cannot stream")
    changes.update(model_type=model_type, streaming=streaming)
    if request.allowed_groups is not None:
        changes["allowed_groups"] = list(dict.fromkeys(request.allowed_groups))
    for name in ("model_description", "features", "context_window"):
        if getattr(request, name) is not None:
            changes[name] = getattr(request, name)
    if request.enabled is not None:
        changes["enabled"] = request.enabled
    hosted_only = {"autoScalingInstanceConfig": request.auto_scaling_instance_config,
                   "containerConfig": request.container_config, "instanceType": request.instance_type,
                   "inferenceContainer": request.inference_container}
    named = [name for name, value in hosted_only.items() if value is not None]
    if named and not record.is_hosted:
        raise ValueError(f"{', '.join(named)}: only models with containerConfig have hosting to change")
    if request.auto_scaling_instance_config is not None:
        changes["auto_scaling_config"] = _scaled(record.auto_scaling_config, request.auto_scaling_instance_config)
    if request.container_config is not None:
        changes["container_config"] = request.container_config.applied_to(record.container_config)
    if request.instance_type is not None:
        changes["instance_type"] = request.instance_type
    if request.inference_container is not None:
        changes["inference_container"] = request.inference_container
    return record.model_copy(update=changes)


def deploys(before: ModelRecord, after: ModelRecord) -> bool:
    """Whether going from `before` to `after` changes the model's stack (else only its record changes)."""
    fields = (set(ModelSpec.model_fields) - RECORD_ONLY_FIELDS - {"api_key"}) | {"enabled"}
    return any(getattr(before, f) != getattr(after, f) for f in fields)


def _scaled(current: AutoScalingConfig, asic: AutoScalingInstanceConfig) -> AutoScalingConfig:
    minimum = asic.min_capacity or current.min_capacity
    maximum = asic.max_capacity or current.max_capacity
    desired = asic.desired_capacity
    if desired is None and current.desired_capacity is not None:
        # Keep the old desired count, raised to the new minimum / lowered to the new maximum (LISA's rule).
        desired = min(max(current.desired_capacity, minimum), maximum)
    check_capacity(minimum, maximum, desired)
    return current.model_copy(update={
        "min_capacity": minimum, "max_capacity": maximum, "desired_capacity": desired,
        "cooldown": _given(asic.cooldown, current.cooldown),
        "default_instance_warmup": _given(asic.default_instance_warmup, current.default_instance_warmup),
    })


# Lifecycle: which action is allowed from which status, and where it leads.
TRANSITIONAL = frozenset(
    {ModelStatus.CREATING, ModelStatus.UPDATING, ModelStatus.STARTING, ModelStatus.STOPPING, ModelStatus.DELETING}
)
Action = Literal["update", "stop", "start", "delete"]

_ALLOWED_FROM: dict[str, frozenset[ModelStatus]] = {
    "update": frozenset({ModelStatus.IN_SERVICE, ModelStatus.STOPPED, ModelStatus.FAILED}),
    "stop": frozenset({ModelStatus.IN_SERVICE, ModelStatus.FAILED}),
    "start": frozenset({ModelStatus.STOPPED, ModelStatus.FAILED}),
    "delete": frozenset({ModelStatus.IN_SERVICE, ModelStatus.STOPPED, ModelStatus.FAILED}),
}
_IN_PROGRESS: dict[str, ModelStatus] = {
    "update": ModelStatus.UPDATING,
    "stop": ModelStatus.STOPPING,
    "start": ModelStatus.STARTING,
    "delete": ModelStatus.DELETING,
}


def begin(status: ModelStatus, action: Action) -> ModelStatus:
    """The transitional status an action moves a model into; ValueError when `status` forbids it."""
    if status not in _ALLOWED_FROM[action]:
        raise ValueError(f"cannot {action} a model whose status is {status.value}")
    return _IN_PROGRESS[action]


def begin_on(record: ModelRecord, action: Action) -> ModelStatus:
    """begin() for a stored model: a ConflictError (409) names the model when its status forbids the action."""
    try:
        return begin(record.status, action)
    except ValueError as exc:
        raise ConflictError(f"model {record.model_id}: {exc}") from None


def settle(status: ModelStatus, *, succeeded: bool, enabled: bool = True) -> ModelStatus | None:
    """Where a finished deployment job leaves the model; None means the record is gone (a finished delete)."""
    if status not in TRANSITIONAL:
        raise ValueError(f"{status.value} is not a transitional status")
    if not succeeded:
        return ModelStatus.FAILED
    if status is ModelStatus.DELETING:
        return None
    if status is ModelStatus.STOPPING or not enabled:
        return ModelStatus.STOPPED
    return ModelStatus.IN_SERVICE
