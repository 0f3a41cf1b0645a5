"""The admin API's contract beyond the happy path: auth, LISA's error bodies for bad payloads (with nothing written),
state conflicts, concurrent creates of one id, and the dry-run preview."""

from __future__ import annotations

import threading
import time

import pytest

from core import aws
from core.registry import ModelRegistry
from services.identity.tokens import TokenStore
from services.local.emulated_aws import ensure_user
from tests.engine.conftest import ADMIN, wait_gone, wait_status
from tests.fixtures.eventually import eventually
from tests.fixtures.model_inventory import model_inventory
from tests.fixtures.model_payloads import ecs_model, litellm_model
from tests.fixtures.stage import TEST_MASTER_KEY


def id_token(outputs, username: str, password: str) -> str:
    result = aws.client("cognito-idp").admin_initiate_auth(
        UserPoolId=outputs.auth.user_pool_id, ClientId=outputs.auth.client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password})
    return result["AuthenticationResult"]["IdToken"]


@pytest.fixture(scope="module")
def existing(api):
    """A LiteLLM-only model in service, for the update rules."""
    api.post("/models", headers=ADMIN, json=litellm_model(modelId="rules-model"))
    model = wait_status(api, "rules-model")
    yield model
    api.delete("/models/rules-model", headers=ADMIN)
    wait_gone(api, "rules-model")


def nothing_written(api, outputs, model_id: str) -> bool:
    return (api.get(f"/models/{model_id}", headers=ADMIN).status_code == 404
            and model_inventory(outputs, model_id) == {}
            and not api.app.state.engine.stacks.exists(outputs.model_stack_name(model_id)))


# Auth -------------------------------------------------------------------------------------------------------------
def test_no_credentials_is_401(api):
    response = api.get("/models")
    assert response.status_code == 401 and response.json()["error"] == "AuthenticationError"


def test_a_signed_in_non_admin_reads_models_but_changes_none(api, outputs):
    ensure_user(outputs.auth.user_pool_id, "plain-user", "Plain-Passw0rd!")
    bearer = {"Authorization": f"Bearer {id_token(outputs, 'plain-user', 'Plain-Passw0rd!')}"}
    assert api.get("/models", headers=bearer).status_code == 200  # the ones their groups may use (LISA)
    for method, path in (("post", "/models"), ("put", "/models/x"), ("delete", "/models/x"),
                         ("get", "/models/x/preview"), ("get", "/models/x/events"), ("get", "/models/x/drift"),
                         ("post", "/models/x/reconcile"), ("get", "/models/metadata/capacity"),
                         ("put", "/models/x/context-window")):
        body = {"json": {"enabled": True}} if method in ("post", "put") and "context" not in path else (
            {"json": {"contextWindow": 8}} if "context" in path else {})
        response = getattr(api, method)(path, headers=bearer, **body)
        assert response.status_code == 403 and response.json()["error"] == "PermissionDeniedError", (method, path)


def test_the_admin_signs_in_with_a_cognito_id_token(api, platform):
    outputs, admin = platform
    response = api.get("/models", headers={"Authorization": f"Bearer {id_token(outputs, admin.username, admin.password)}"})
    assert response.status_code == 200 and "models" in response.json()


# Model groups (LISA's allowedGroups) and the audit of model changes -----------------------------------------------
UPSTREAM_KEY = "sk-upstream-never-in-the-audit-0123"


@pytest.fixture(scope="module")
def members(outputs) -> dict[str, str]:
    """API tokens of a member of team-a, of team-b, and of no group."""
    store = TokenStore(outputs.tables.tokens)
    return {who: store.issue(user_id=f"groups-{who}", username=f"groups-{who}", name="tests",
                             groups=[who] if who != "nobody" else [])[0] for who in ("team-a", "team-b", "nobody")}


def _visible(api, token: str, model_ids: set[str]) -> set[str]:
    """Of `model_ids`, the ones this caller lists, checked against what GET /models/{id} answers them."""
    bearer = {"Authorization": f"Bearer {token}"}
    listed = {m["modelId"] for m in api.get("/models", headers=bearer).json()["models"]} & model_ids
    for model_id in model_ids:
        one = api.get(f"/models/{model_id}", headers=bearer)
        if model_id in listed:
            assert one.status_code == 200 and one.json()["model"]["modelId"] == model_id
        else:  # exactly what an unknown model answers: nothing is revealed
            assert one.status_code == 404 and one.json() == {
                "error": "ModelNotFoundError", "message": f"The requested model with ID {model_id} could not be found."}
    return listed


def _audited(api, action: str, target: str, since: float) -> dict:
    def found() -> dict | None:
        page = api.get("/audit", headers=ADMIN, params={"action": action, "start": str(int(since)), "pageSize": 500})
        assert page.status_code == 200, page.text
        return next((i for i in page.json()["items"] if i["action"] == action and i["target"] == target), None)

    return eventually(found, 20, f"an audit event {action} of {target}")


def test_allowed_groups_are_stored_registered_and_decide_who_sees_the_model(api, outputs, existing, members):
    started = time.time() - 1
    registry = ModelRegistry(outputs.tables.models)
    made = api.post("/models", headers=ADMIN, json=litellm_model(modelId="team-a-model", allowedGroups=["team-a"],
                                                                 apiKey=UPSTREAM_KEY))
    assert made.status_code == 200 and made.json()["model"]["allowedGroups"] == ["team-a"], made.text
    try:
        assert wait_status(api, "team-a-model")["allowedGroups"] == ["team-a"]
        assert registry.get_registration("team-a-model").allowed_groups == ["team-a"]  # what serve routes by
        both = {"team-a-model", existing["modelId"]}  # the second is open to every signed-in user
        assert _visible(api, members["team-a"], both) == both
        assert _visible(api, members["team-b"], both) == {existing["modelId"]}
        assert _visible(api, members["nobody"], both) == {existing["modelId"]}

        changed = api.put("/models/team-a-model", headers=ADMIN, json={"allowedGroups": ["team-b", "team-b"]})
        assert changed.status_code == 200 and changed.json()["model"]["allowedGroups"] == ["team-b"], changed.text
        assert wait_status(api, "team-a-model", {"InService"})["allowedGroups"] == ["team-b"]
        eventually(lambda: registry.get_registration("team-a-model").allowed_groups == ["team-b"], 30,
                   "the registration's groups updated")
        assert _visible(api, members["team-a"], both) == {existing["modelId"]}
        assert _visible(api, members["team-b"], both) == both
    finally:
        assert api.delete("/models/team-a-model", headers=ADMIN).status_code == 200
        wait_gone(api, "team-a-model")

    events = {action: _audited(api, action, "team-a-model", started)
              for action in ("model.create", "model.update", "model.delete")}
    for action, event in events.items():
        assert (event["actorId"], event["actorName"], event["outcome"]) == ("master-key", "master-key", "success"), action
        assert event["sourceIp"], action
    assert events["model.create"]["details"] == {"modelName": "bedrock/amazon.titan-text-express-v1", "hosted": False}
    assert events["model.update"]["details"]["changes"] == ["allowedGroups"]
    everything = str(api.get("/audit", headers=ADMIN, params={"start": str(int(started)), "pageSize": 500}).json())
    for secret in (UPSTREAM_KEY, TEST_MASTER_KEY, *members.values()):
        assert secret not in everything


# Bad payloads: LISA's error, nothing written ----------------------------------------------------------------------
def _lb(**health):
    payload = ecs_model(modelId="bad-model")
    payload["loadBalancerConfig"]["healthCheckConfig"].update(health)
    return payload


def _scaling(**capacity):
    payload = ecs_model(modelId="bad-model")
    payload["autoScalingConfig"].update(capacity)
    return payload


def _image(base_image: str):
    payload = ecs_model(modelId="bad-model")
    payload["containerConfig"]["image"] = {"baseImage": base_image, "type": "ecr"}
    return payload


BAD_CREATES = {
    "litellm model without a provider prefix": (litellm_model(modelId="bad-model", modelName="titan"), 422, "ValidationError"),
    "hosted model without an instance type": ({k: v for k, v in ecs_model(modelId="bad-model").items()
                                               if k != "instanceType"}, 422, "ValidationError"),
    "streaming embedding model": (litellm_model(modelId="bad-model", modelType="embedding"), 422, "ValidationError"),
    "unknown field": (litellm_model(modelId="bad-model", colour="blue"), 422, "ValidationError"),
    "model id with capitals": (litellm_model(modelId="Bad_Model"), 422, "ValidationError"),
    "min capacity above max": (_scaling(minCapacity=3, maxCapacity=1), 422, "ValidationError"),
    "unknown instance type": (ecs_model(modelId="bad-model", instanceType="zz9.large"), 400, "InvalidInputError"),
    "health check timeout not below interval": (_lb(interval=30, timeout=30), 400, "InvalidInputError"),
    "image from an ECR repository the stage does not name": (
        _image("123456789012.dkr.ecr.us-east-1.amazonaws.com/not-named/vllm:1"), 400, "InvalidInputError"),
    "more GPU instances than maxGpuInstances": (_scaling(minCapacity=1, maxCapacity=17), 400, "InvalidInputError"),
}


@pytest.mark.parametrize("payload, status, error", BAD_CREATES.values(), ids=BAD_CREATES.keys())
def test_a_bad_create_payload_gets_its_lisa_error_and_writes_nothing(api, outputs, payload, status, error):
    response = api.post("/models", headers=ADMIN, json=payload)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert response.json()["message"]
    assert nothing_written(api, outputs, "bad-model")


def test_a_create_past_max_gpu_instances_names_the_numbers(api, outputs):
    response = api.post("/models", headers=ADMIN, json=_scaling(minCapacity=1, maxCapacity=17))
    assert response.json()["message"].startswith(
        f"maxGpuInstances is {outputs.max_gpu_instances}: model bad-model may scale to 17 GPU instance(s)")


def test_malformed_json_is_an_invalid_input_error(api):
    response = api.post("/models", headers={**ADMIN, "Content-Type": "application/json"}, content=b'{"modelId": ')
    assert (response.status_code, response.json()["error"]) == (400, "InvalidInputError")


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_an_unknown_model_is_404_with_lisa_body(api, method):
    kwargs = {"json": {"streaming": True}} if method == "put" else {}
    response = getattr(api, method)("/models/no-such-model", headers=ADMIN, **kwargs)
    assert response.status_code == 404
    assert response.json() == {"error": "ModelNotFoundError",
                               "message": "The requested model with ID no-such-model could not be found."}


# Update rules -----------------------------------------------------------------------------------------------------
def test_enabled_with_autoscaling_is_refused(api, existing):
    body = {"enabled": False, "autoScalingInstanceConfig": {"minCapacity": 1}}
    response = api.put("/models/rules-model", headers=ADMIN, json=body)
    assert (response.status_code, response.json()["error"]) == (400, "InvalidInputError")  # LISA's status


def test_zero_capacity_is_refused(api, existing):
    response = api.put("/models/rules-model", headers=ADMIN, json={"autoScalingInstanceConfig": {"maxCapacity": 0}})
    assert (response.status_code, response.json()["error"]) == (422, "ValidationError")


def test_scaling_a_litellm_only_model_is_invalid_input(api, existing):
    response = api.put("/models/rules-model", headers=ADMIN, json={"autoScalingInstanceConfig": {"maxCapacity": 2}})
    assert (response.status_code, response.json()["error"]) == (400, "InvalidInputError")


def test_an_embedding_model_may_not_stream(api, existing):
    response = api.put("/models/rules-model", headers=ADMIN, json={"modelType": "embedding", "streaming": True})
    assert (response.status_code, response.json()["error"]) == (400, "InvalidInputError")


def test_starting_a_model_in_service_is_a_conflict(api, existing):
    response = api.put("/models/rules-model", headers=ADMIN, json={"enabled": True})
    assert (response.status_code, response.json()["error"]) == (409, "ConflictError")
    assert api.get("/models/rules-model", headers=ADMIN).json()["model"]["status"] == "InService"


def test_creating_an_existing_model_is_refused(api, existing):
    response = api.post("/models", headers=ADMIN, json=litellm_model(modelId="rules-model"))
    assert (response.status_code, response.json()["error"]) == (400, "ModelAlreadyExistsError")


# Concurrency and dry runs -----------------------------------------------------------------------------------------
def test_fifty_concurrent_creates_of_one_id_accept_exactly_one(api):
    barrier, results = threading.Barrier(50), []

    def create() -> None:
        barrier.wait()
        response = api.post("/models", headers=ADMIN, json=litellm_model(modelId="race-model"))
        results.append((response.status_code, response.json().get("error")))

    threads = [threading.Thread(target=create) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_status(api, "race-model")
    api.delete("/models/race-model", headers=ADMIN)
    wait_gone(api, "race-model")
    assert sorted(results, key=str) == sorted([(200, None)] + [(400, "ModelAlreadyExistsError")] * 49, key=str)


def test_a_dry_run_create_previews_the_stack_and_writes_nothing(api, outputs):
    response = api.post("/models", headers=ADMIN, params={"dryRun": "true"}, json=ecs_model(modelId="dry-model"))
    steps = {s["resource"]: s["op"] for s in response.json()["preview"]["steps"]}
    assert steps == {"model": "create", "registration": "create"}
    assert nothing_written(api, outputs, "dry-model")


# Catalogue and capacity -------------------------------------------------------------------------------------------
def test_instances_lists_lisas_names_of_the_types_the_region_offers(api):
    names = api.get("/models/metadata/instances", headers=ADMIN).json()
    assert {"g5.xlarge", "g5.12xlarge", "p4d.24xlarge", "m5.large"} <= set(names) and names == sorted(names)


def test_instance_types_say_gpus_vcpus_and_memory(api):
    types = {t["instanceType"]: t for t in api.get("/models/metadata/instance-types", headers=ADMIN).json()["instanceTypes"]}
    assert types["g5.12xlarge"] == {"instanceType": "g5.12xlarge", "gpus": 4, "vcpus": 48, "memoryGib": 192}


def test_capacity_counts_what_hosted_models_may_scale_to(api, outputs):
    capacity = api.get("/models/metadata/capacity", headers=ADMIN).json()
    assert capacity["maxGpuInstances"] == outputs.max_gpu_instances
    assert capacity["remaining"] == outputs.max_gpu_instances - sum(capacity["byModel"].values()) == (
        capacity["maxGpuInstances"] - capacity["used"])
