"""The model routes' request and response bodies (LISA's where LISA has the route; camelCase as LISA's)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.models import DriftReport, ModelRecord
from core.schema import CamelModel


class ModelResponse(CamelModel):
    model: ModelRecord


class ModelList(CamelModel):
    models: list[ModelRecord]


class DeletedModel(CamelModel):
    status: str = "success"
    message: str


class PropertyChange(CamelModel):
    property: str = Field(description="dotted path of a declared input, e.g. containerConfig.environment.X")
    before: Any = None
    after: Any = None


class ModelPreviewStep(CamelModel):
    op: str = Field(description="Pulumi's step: create, update, replace, delete, same, …")
    resource: str
    type: str
    diffs: list[str] = Field(default_factory=list)
    replaces: list[str] = Field(default_factory=list)
    changes: list[PropertyChange] = Field(default_factory=list)


class ModelPreview(CamelModel):
    change_summary: dict[str, int] = Field(default_factory=dict)
    steps: list[ModelPreviewStep] = Field(default_factory=list)
    replaces: list[str] = Field(default_factory=list, description=(
        "inputs whose change replaces the hosted model (its instances are made again): send the change with "
        "?allowReplace=true"))


class ModelPreviewResponse(CamelModel):
    preview: ModelPreview


class EventList(CamelModel):
    events: list[dict[str, Any]]


class DriftResponse(CamelModel):
    drift: DriftReport


class ContextWindowRequest(CamelModel):
    context_window: int = Field(gt=0, le=100_000_000)


class InstanceType(CamelModel):
    instance_type: str
    gpus: int
    vcpus: int
    memory_gib: int


class InstanceTypes(CamelModel):
    instance_types: list[InstanceType]


class GpuCapacity(CamelModel):
    """The stage's maxGpuInstances and what the hosted models may use of it (each at its maxCapacity)."""

    max_gpu_instances: int
    used: int
    remaining: int
    by_model: dict[str, int]
