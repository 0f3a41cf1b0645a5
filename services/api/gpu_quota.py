"""The stage's maxGpuInstances across all hosted models: what is used, what remains, and whether a change fits.

A model counts for the GPU instances it may scale to (its maxCapacity on a GPU instance type) while it is enabled,
whatever its status (a Failed or Updating model may still hold instances). A stopped model counts for none, so a
start is checked like a create. Pure functions: the routes read the records and raise the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from core.errors import InvalidInputError
from core.models import ModelRecord, ModelStatus
from providers.instance_types import instance_shape


def gpu_instances(record: ModelRecord) -> int:
    """The GPU instances `record` may run: 0 for a LiteLLM-only, CPU-hosted, stopped or departing model."""
    if not record.is_hosted or not record.enabled or record.status is ModelStatus.DELETING:
        return 0
    try:
        shape = instance_shape(record.instance_type or "")
    except ValueError:
        return 0
    return record.auto_scaling_config.max_capacity if shape.gpus else 0


@dataclass(frozen=True)
class GpuUsage:
    limit: int
    by_model: dict[str, int]

    @property
    def used(self) -> int:
        return sum(self.by_model.values())

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def usage(records: Iterable[ModelRecord], limit: int) -> GpuUsage:
    return GpuUsage(limit, {r.model_id: n for r in records if (n := gpu_instances(r))})


def check_fits(records: Iterable[ModelRecord], candidate: ModelRecord, limit: int) -> None:
    """InvalidInputError (400) naming the numbers when `candidate` (as it would be after the change) and every
    other model together could run more GPU instances than the stage allows."""
    wanted = gpu_instances(candidate)
    if not wanted:
        return
    others = usage((r for r in records if r.model_id != candidate.model_id), limit)
    if others.used + wanted > limit:
        raise InvalidInputError(
            f"maxGpuInstances is {limit}: model {candidate.model_id} may scale to {wanted} GPU instance(s) and the "
            f"other models to {others.used}, {others.used + wanted} in all; {max(0, limit - others.used)} remain "
            f"for this model", param="autoScalingConfig.maxCapacity")
