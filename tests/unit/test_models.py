"""LISA's model payloads and the lifecycle: which action is allowed from which status, where jobs leave a model."""

from __future__ import annotations

import pydantic
import pytest

from core.models import (
    TRANSITIONAL,
    AutoScalingConfig,
    ModelRecord,
    ModelSpec,
    ModelStatus,
    ModelType,
    UpdateModelRequest,
    apply_update,
    begin,
    deploys,
    settle,
)

S = ModelStatus
HOSTED = {
    "modelId": "mistral-7b", "modelName": "mistralai/Mistral-7B-Instruct-v0.2", "modelType": "textgen",
    "inferenceContainer": "tgi", "instanceType": "g5.xlarge", "streaming": True,
    "containerConfig": {"image": {"baseImage": "ghcr.io/huggingface/text-generation-inference:2.0.1", "type": "asset"},
                        "sharedMemorySize": 2048, "environment": {"MAX_TOTAL_TOKENS": "2048"}},
    "autoScalingConfig": {"minCapacity": 1, "maxCapacity": 3, "desiredCapacity": 2},
    "loadBalancerConfig": {"healthCheckConfig": {"path": "/health"}},
}
LITELLM_ONLY = {"modelId": "claude", "modelName": "bedrock/anthropic.claude-3-haiku-20240307-v1:0", "streaming": True}


def _record(status: ModelStatus = S.IN_SERVICE, **changes) -> ModelRecord:
    return ModelRecord.model_validate({**HOSTED, **changes, "status": status})


# Payloads
def test_a_hosted_model_payload_from_lisas_readme_parses():
    spec = ModelSpec.model_validate(HOSTED)
    assert spec.is_hosted and spec.auto_scaling_config.effective_desired == 2


def test_a_litellm_only_model_needs_no_infrastructure():
    spec = ModelSpec.model_validate(LITELLM_ONLY)
    assert not spec.is_hosted and spec.model_type is ModelType.TEXTGEN


def test_a_hosted_model_without_its_instance_type_is_refused():
    with pytest.raises(pydantic.ValidationError, match="instanceType"):
        ModelSpec.model_validate({k: v for k, v in HOSTED.items() if k != "instanceType"})


def test_hosting_fields_without_a_container_are_refused():
    with pytest.raises(pydantic.ValidationError, match="only apply to models with containerConfig"):
        ModelSpec.model_validate({**LITELLM_ONLY, "instanceType": "g5.xlarge"})


def test_a_litellm_only_model_needs_a_provider_prefixed_name():
    with pytest.raises(pydantic.ValidationError, match="LiteLLM model string"):
        ModelSpec.model_validate({**LITELLM_ONLY, "modelName": "claude"})


def test_an_openai_compatible_model_needs_its_url():
    with pytest.raises(pydantic.ValidationError, match="modelUrl"):
        ModelSpec.model_validate({**LITELLM_ONLY, "modelName": "openai/served"})


def test_an_embedding_model_cannot_stream():
    with pytest.raises(pydantic.ValidationError, match="cannot stream"):
        ModelSpec.model_validate({**LITELLM_ONLY, "modelType": "embedding", "streaming": True})


def test_a_model_id_must_be_a_dns_label():
    with pytest.raises(pydantic.ValidationError, match="modelId"):
        ModelSpec.model_validate({**LITELLM_ONLY, "modelId": "Claude_3"})


def test_desired_capacity_outside_its_bounds_is_refused():
    with pytest.raises(pydantic.ValidationError, match="desiredCapacity"):
        AutoScalingConfig(min_capacity=2, max_capacity=3, desired_capacity=5)


def test_the_api_key_is_never_serialized():
    spec = ModelSpec.model_validate({**LITELLM_ONLY, "modelName": "openai/x", "modelUrl": "https://x/v1",
                                     "apiKey": "secret-value"})
    assert spec.api_key.get_secret_value() == "secret-value"
    assert "secret-value" not in spec.model_dump_json() and "apiKey" not in spec.model_dump()


def test_an_update_must_name_something_to_change():
    with pytest.raises(pydantic.ValidationError, match="nothing to change"):
        UpdateModelRequest.model_validate({})


def test_enable_and_capacity_are_separate_updates():
    update = UpdateModelRequest.model_validate({"enabled": False, "autoScalingInstanceConfig": {"minCapacity": 1}})
    record = ModelRecord.model_validate({"modelId": "m", "modelName": "bedrock/x"})
    with pytest.raises(ValueError, match="separate requests"):  # the api turns it into LISA's 400 InvalidInputError
        apply_update(record, update)


# begin: the transitional status an action leads to
@pytest.mark.parametrize(("status", "action", "expected"), [
    (S.IN_SERVICE, "update", S.UPDATING), (S.STOPPED, "update", S.UPDATING), (S.FAILED, "update", S.UPDATING),
    (S.IN_SERVICE, "stop", S.STOPPING), (S.FAILED, "stop", S.STOPPING),
    (S.STOPPED, "start", S.STARTING), (S.FAILED, "start", S.STARTING),
    (S.IN_SERVICE, "delete", S.DELETING), (S.STOPPED, "delete", S.DELETING), (S.FAILED, "delete", S.DELETING),
])
def test_an_allowed_action_moves_the_model_into_its_transitional_status(status, action, expected):
    assert begin(status, action) is expected


@pytest.mark.parametrize("status", sorted(TRANSITIONAL, key=lambda s: s.value))
@pytest.mark.parametrize("action", ["update", "stop", "start", "delete"])
def test_no_action_is_allowed_while_a_job_runs(status, action):
    with pytest.raises(ValueError, match=f"cannot {action}"):
        begin(status, action)


@pytest.mark.parametrize(("status", "action"), [(S.STOPPED, "stop"), (S.IN_SERVICE, "start")])
def test_stopping_a_stopped_model_or_starting_a_running_one_is_refused(status, action):
    with pytest.raises(ValueError):
        begin(status, action)


# settle: where a finished job leaves the model
@pytest.mark.parametrize(("status", "expected"), [
    (S.CREATING, S.IN_SERVICE), (S.UPDATING, S.IN_SERVICE), (S.STARTING, S.IN_SERVICE), (S.STOPPING, S.STOPPED)])
def test_a_successful_job_settles_in_service_or_stopped(status, expected):
    assert settle(status, succeeded=True) is expected


def test_a_successful_delete_removes_the_record():
    assert settle(S.DELETING, succeeded=True) is None


@pytest.mark.parametrize("status", sorted(TRANSITIONAL, key=lambda s: s.value))
def test_a_failed_job_always_settles_failed(status):
    assert settle(status, succeeded=False) is S.FAILED


def test_an_update_of_a_disabled_model_settles_stopped():
    assert settle(S.UPDATING, succeeded=True, enabled=False) is S.STOPPED


@pytest.mark.parametrize("status", [S.IN_SERVICE, S.STOPPED, S.FAILED])
def test_only_transitional_statuses_settle(status):
    with pytest.raises(ValueError, match="not a transitional status"):
        settle(status, succeeded=True)


# apply_update: the record as it will be
def test_a_metadata_update_changes_only_metadata():
    updated = apply_update(_record(), UpdateModelRequest(streaming=False))
    assert updated.streaming is False and updated.auto_scaling_config == _record().auto_scaling_config
    assert UpdateModelRequest(streaming=False).is_metadata_only


def test_becoming_an_embedding_model_turns_streaming_off():
    updated = apply_update(_record(), UpdateModelRequest(model_type=ModelType.EMBEDDING))
    assert (updated.model_type, updated.streaming) == (ModelType.EMBEDDING, False)


def test_an_embedding_model_asked_to_stream_is_refused():
    with pytest.raises(ValueError, match="cannot stream"):
        apply_update(_record(), UpdateModelRequest(model_type=ModelType.EMBEDDING, streaming=True))


def test_disabling_keeps_the_capacity_to_restore_later():
    updated = apply_update(_record(), UpdateModelRequest(enabled=False))
    assert updated.enabled is False and updated.auto_scaling_config.desired_capacity == 2


def test_raising_the_minimum_raises_the_kept_desired_count():
    update = UpdateModelRequest.model_validate({"autoScalingInstanceConfig": {"minCapacity": 3, "maxCapacity": 4}})
    scaling = apply_update(_record(), update).auto_scaling_config
    assert (scaling.min_capacity, scaling.max_capacity, scaling.desired_capacity) == (3, 4, 3)


def test_lowering_the_maximum_lowers_the_kept_desired_count():
    update = UpdateModelRequest.model_validate({"autoScalingInstanceConfig": {"maxCapacity": 1}})
    scaling = apply_update(_record(), update).auto_scaling_config
    assert (scaling.min_capacity, scaling.max_capacity, scaling.desired_capacity) == (1, 1, 1)


def test_capacity_bounds_that_cross_are_refused():
    update = UpdateModelRequest.model_validate({"autoScalingInstanceConfig": {"minCapacity": 4}})
    with pytest.raises(ValueError, match="must not exceed"):
        apply_update(_record(), update)


def test_a_litellm_only_model_has_no_capacity_to_scale():
    record = ModelRecord.model_validate({**LITELLM_ONLY, "status": "InService"})
    with pytest.raises(ValueError, match="only models with containerConfig"):
        apply_update(record, UpdateModelRequest.model_validate({"autoScalingInstanceConfig": {"maxCapacity": 2}}))


def test_the_record_keeps_its_spec_without_lifecycle_fields():
    spec = _record(S.STOPPED).spec
    assert isinstance(spec, ModelSpec) and not hasattr(spec, "status")
    assert spec.model_dump() == ModelSpec.model_validate(HOSTED).model_dump()


# LISA v6's updatable fields
def test_a_container_update_replaces_the_named_settings_and_keeps_the_rest():
    update = UpdateModelRequest.model_validate({"containerConfig": {
        "environment": {"MAX_TOTAL_TOKENS": "4096"}, "healthCheckCommand": "curl -f localhost:8080/health",
        "healthCheckRetries": 5, "image": {"baseImage": "ghcr.io/huggingface/text-generation-inference:2.1.0"}}})
    container = apply_update(_record(), update).container_config
    assert container.environment == {"MAX_TOTAL_TOKENS": "4096"}
    assert container.health_check_config.command == ["CMD-SHELL", "curl -f localhost:8080/health"]
    assert (container.health_check_config.retries, container.health_check_config.interval) == (5, 10)
    assert (container.image.base_image, container.image.type) == (
        "ghcr.io/huggingface/text-generation-inference:2.1.0", "asset")
    assert container.shared_memory_size == 2048


def test_cooldown_and_instance_warmup_are_updatable():
    update = UpdateModelRequest.model_validate({"autoScalingInstanceConfig": {"cooldown": 60, "defaultInstanceWarmup": 90}})
    scaling = apply_update(_record(), update).auto_scaling_config
    assert (scaling.cooldown, scaling.default_instance_warmup, scaling.min_capacity) == (60, 90, 1)


def test_a_litellm_only_model_has_no_container_to_change():
    record = ModelRecord.model_validate({**LITELLM_ONLY, "status": "InService"})
    with pytest.raises(ValueError, match="containerConfig: only models with containerConfig"):
        apply_update(record, UpdateModelRequest.model_validate({"containerConfig": {"sharedMemorySize": 1}}))


def test_description_features_and_context_window_deploy_nothing():
    update = UpdateModelRequest.model_validate({"modelDescription": "d", "features": [{"name": "f", "overview": "o"}],
                                                "contextWindow": 8192})
    assert not deploys(_record(), apply_update(_record(), update))
    assert deploys(_record(), apply_update(_record(), UpdateModelRequest(streaming=False)))
    assert deploys(_record(), apply_update(_record(), UpdateModelRequest(enabled=False)))
