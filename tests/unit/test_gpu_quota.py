"""maxGpuInstances across every hosted model: what counts, and the refusal that names the numbers."""

from __future__ import annotations

import pytest

from core.errors import InvalidInputError
from core.models import ModelRecord
from services.api.gpu_quota import check_fits, gpu_instances, usage
from tests.fixtures.model_payloads import ecs_model, litellm_model


def hosted(model_id: str, maximum: int, *, instance_type: str = "g5.xlarge", **record) -> ModelRecord:
    payload = ecs_model(modelId=model_id, instanceType=instance_type)
    payload["autoScalingConfig"].update(minCapacity=1, maxCapacity=maximum)
    return ModelRecord.model_validate({**payload, "status": "InService", **record})


def test_a_model_counts_for_the_gpu_instances_it_may_scale_to():
    assert gpu_instances(hosted("a", 3)) == 3


@pytest.mark.parametrize("record", [
    hosted("stopped", 3, enabled=False, status="Stopped"),
    hosted("cpu", 3, instance_type="m5.xlarge"),
    hosted("leaving", 3, status="Deleting"),
    ModelRecord.model_validate({**litellm_model(), "status": "InService"}),
], ids=["stopped", "cpu instance", "deleting", "litellm-only"])
def test_stopped_cpu_departing_and_litellm_models_count_for_none(record):
    assert gpu_instances(record) == 0


def test_usage_sums_the_models_and_says_what_remains():
    used = usage([hosted("a", 3), hosted("b", 4), hosted("c", 2, enabled=False, status="Stopped")], limit=10)
    assert (used.used, used.remaining, used.by_model) == (7, 3, {"a": 3, "b": 4})


def test_a_change_within_the_limit_fits():
    check_fits([hosted("a", 3), hosted("b", 4)], hosted("b", 7), limit=10)  # b replaces its own 4


def test_a_change_past_the_limit_is_refused_with_the_numbers():
    with pytest.raises(InvalidInputError) as refused:
        check_fits([hosted("a", 6)], hosted("b", 5), limit=10)
    assert refused.value.message == ("maxGpuInstances is 10: model b may scale to 5 GPU instance(s) and the other "
                                     "models to 6, 11 in all; 4 remain for this model")
