"""LiteLLMRegistrationProvider against the emulator: the registry entry serve routes by, and its version bump."""

from __future__ import annotations

import pytest

from core.models import ModelRecord, ModelSpec
from core.registry import ModelRegistry
from providers.litellm_registration import LiteLLMRegistrationProvider, registration_for
from tests.fixtures.model_payloads import litellm_model


@pytest.fixture
def model(platform, request):
    outputs, _ = platform
    registry = ModelRegistry(outputs.tables.models)
    spec = ModelSpec.model_validate(litellm_model(modelId=f"reg-{request.node.name[5:30].replace('_', '-')}"))
    registry.create(ModelRecord.model_validate(spec.model_dump()))
    registration = registration_for(spec, region=outputs.region)
    props = {"modelsTable": outputs.tables.models, "modelId": spec.model_id, "routable": True,
             "registration": registration.model_dump(mode="json", exclude={"created"}, exclude_none=True)}
    yield registry, props
    registry.delete(spec.model_id)


def test_create_publishes_the_registration_and_bumps_the_version(model):
    registry, props = model
    before = registry.version()
    LiteLLMRegistrationProvider().create(props)
    assert registry.get_registration(props["modelId"]).litellm_params["model"] == "bedrock/amazon.titan-text-express-v1"
    assert registry.version() > before


def test_update_to_not_routable_withdraws_the_registration(model):
    registry, props = model
    provider = LiteLLMRegistrationProvider()
    provider.create(props)
    provider.update(props["modelId"], props, {**props, "routable": False})
    assert registry.get_registration(props["modelId"]) is None


def test_update_rewrites_metadata(model):
    registry, props = model
    provider = LiteLLMRegistrationProvider()
    provider.create(props)
    news = {**props, "registration": {**props["registration"], "streaming": False}}
    provider.update(props["modelId"], props, news)
    assert registry.get_registration(props["modelId"]).streaming is False


def test_delete_withdraws_the_registration_and_a_second_delete_is_done(model):
    registry, props = model
    provider = LiteLLMRegistrationProvider()
    provider.create(props)
    provider.delete(props["modelId"], props)
    provider.delete(props["modelId"], props)
    assert registry.get_registration(props["modelId"]) is None


def test_read_reports_a_registration_deleted_behind_the_platform_and_an_update_restores_it(model):
    registry, props = model
    provider = LiteLLMRegistrationProvider()
    outs = provider.create(props).outs
    assert provider.read(props["modelId"], outs).outs["drift"] == []
    registry.set_registration(props["modelId"], None)
    read = provider.read(props["modelId"], outs).outs
    assert read["drift"] == [{"part": "registration", "property": "", "expected": "present", "actual": None}]
    assert provider.diff(props["modelId"], read, props).changes
    provider.update(props["modelId"], read, props)
    assert registry.get_registration(props["modelId"]) is not None


def test_read_reports_a_registration_edited_behind_the_platform(model):
    registry, props = model
    provider = LiteLLMRegistrationProvider()
    outs = provider.create(props).outs
    edited = registry.get_registration(props["modelId"]).model_copy(update={"streaming": False})
    registry.set_registration(props["modelId"], edited)
    assert provider.read(props["modelId"], outs).outs["drift"] == [
        {"part": "registration", "property": "streaming", "expected": True, "actual": False}]
