"""LiteLLMRegistration: the model's entry in the model registry (what serve routes by), as a Pulumi dynamic resource.

Every model has one. `routable` false (a stopped model, or a hosted model not ready yet) keeps the entry withdrawn.
Each write bumps the registry version, so serve workers pick the change up within their poll interval. Nothing
here is ever replaced: any change is an in-place rewrite of one item attribute.
"""

from __future__ import annotations

from typing import Any

from pulumi import Input, ResourceOptions
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from core.models import ModelSpec
from core.naming import MODEL_HEADER
from core.registry import ModelRegistry, Registration
from providers.drift import drift
from providers.inputs import same
from providers.provider_process import FollowingProvider

_AWS_PREFIXES = ("bedrock/", "sagemaker/", "sagemaker_chat/")


def registration_for(spec: ModelSpec, *, region: str, endpoint: str | None = None,
                     api_key_secret_id: str | None = None) -> Registration:
    """What serve needs to route `spec`: clients ask for the model by its id."""
    if spec.is_hosted:
        if endpoint is None:
            raise ValueError("a hosted model's registration needs its endpoint")
        # Served under its weights' name by vLLM (TGI/TEI ignore it); the header picks the model's ALB rule.
        params: dict[str, Any] = {
            "model": f"openai/{spec.model_name}", "api_base": endpoint, "extra_headers": {MODEL_HEADER: spec.model_id},
        }
    else:
        params = {"model": spec.model_name}
        if spec.model_url:
            params["api_base"] = spec.model_url
        if spec.model_name.startswith(_AWS_PREFIXES):
            params["aws_region_name"] = region  # LISA's rule: Bedrock and SageMaker in the deployment's region
    return Registration(model_name=spec.model_id, litellm_params=params, model_type=spec.model_type,
                        streaming=spec.streaming, allowed_groups=list(spec.allowed_groups),
                        api_key_secret_id=api_key_secret_id)


def _wire(registration: Registration) -> dict[str, Any]:
    # `created` is stamped at write time; as an input it would differ on every run.
    return registration.model_dump(mode="json", exclude={"created"}, exclude_none=True)


def registration_drift(props: dict[str, Any]) -> list[dict[str, Any]]:
    """Where the registry's entry differs from the declared one (or is missing, or routable when it should not be)."""
    live = ModelRegistry(props["modelsTable"]).get_registration(props["modelId"])
    expected = {"registration": props["registration"]} if props.get("routable") else {}
    observed = {"registration": _wire(live) if live is not None else None}
    found = drift(expected, observed)
    if not props.get("routable") and live is not None:
        found.append({"part": "registration", "property": "", "expected": None, "actual": "present"})
    return found


def _publish(props: dict[str, Any]) -> None:
    registry = ModelRegistry(props["modelsTable"])
    if props.get("routable"):
        registry.set_registration(props["modelId"], Registration.model_validate(props["registration"]))
    else:
        registry.set_registration(props["modelId"], None)


class LiteLLMRegistrationProvider(FollowingProvider):
    serialize_as_secret_always = False  # pickled by reference, holds nothing

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if not same(olds, news, "modelId") or not same(olds, news, "modelsTable"):
            return DiffResult(changes=True, replaces=["modelId"], delete_before_replace=True)
        changed = not (same(olds, news, "registration") and same(olds, news, "routable"))
        return DiffResult(changes=changed or bool(olds.get("drift")), replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        _publish(props)
        return CreateResult(props["modelId"], {**props, "drift": []})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _publish(news)
        return UpdateResult({**news, "drift": []})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The declared inputs stay; `drift` says where the registry differs (an update after refresh republishes)."""
        return ReadResult(id_, {**props, "drift": registration_drift(props)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        ModelRegistry(props["modelsTable"]).set_registration(props["modelId"], None)


class LiteLLMRegistration(Resource, module="lisa", name="LiteLLMRegistration"):
    def __init__(self, name: str, *, models_table: str, registration: Registration, routable: Input[bool],
                 opts: ResourceOptions | None = None) -> None:
        props = {
            "modelsTable": models_table,
            "modelId": registration.model_name,
            "registration": _wire(registration),
            "routable": routable,
            "drift": None,
        }
        super().__init__(LiteLLMRegistrationProvider(), name, props, opts)
