"""Serve as a platform many teams share: model groups (who sees and calls what), the user group, rate limits across
two serve processes, usage metering that matches what was sent (streams included), the audit of refusals, and the
Prometheus metrics."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest
import requests

from prometheus_client.parser import text_string_to_metric_families

from core.config import RateLimit, RateLimitConfig
from core.dynamo import Table
from tests.fixtures import processes
from tests.fixtures.eventually import eventually
from tests.fixtures.serve import wait_routable
from tests.integration.serve.conftest import run_gateway


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _chat(base: str, token: str, model: str, **extra) -> requests.Response:
    return requests.post(f"{base}/v2/serve/chat/completions", headers=_auth(token), timeout=30,
                         json={"model": model, "messages": [{"role": "user", "content": "one two three"}], **extra})


# Groups ----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def group_models(register, gateway, stand_in_upstream, master_key) -> dict[str, list[str]]:
    groups = {"team-a-chat": ["team-a"], "team-b-chat": ["team-b"], "open-chat": []}
    for model_id, allowed in groups.items():
        register(model_id, "stand-in-chat", stand_in_upstream, allowed_groups=allowed)
    wait_routable(gateway, "open-chat", master_key)
    return groups


@pytest.fixture(scope="module")
def members(tokens, admin_token) -> dict[str, str]:
    return {
        "team-a": tokens.issue(user_id="ann", username="ann", name="tests", groups=["team-a"])[0],
        "team-b": tokens.issue(user_id="ben", username="ben", name="tests", groups=["team-b"])[0],
        "no group": tokens.issue(user_id="noe", username="noe", name="tests")[0],
        "admin": admin_token,
    }


# caller → the group models it may use (admins use all)
MAY_USE = {"team-a": {"team-a-chat", "open-chat"}, "team-b": {"team-b-chat", "open-chat"}, "no group": {"open-chat"},
           "admin": {"team-a-chat", "team-b-chat", "open-chat"}}


@pytest.mark.parametrize("caller", list(MAY_USE))
def test_a_model_is_listed_and_callable_only_for_its_groups(gateway, group_models, members, caller):
    token = members[caller]
    listed = {m["id"] for m in requests.get(f"{gateway}/v2/serve/models", headers=_auth(token), timeout=10).json()["data"]}
    assert listed & set(group_models) == MAY_USE[caller]
    for model in group_models:
        chat = _chat(gateway, token, model)
        one = requests.get(f"{gateway}/v2/serve/models/{model}", headers=_auth(token), timeout=10)
        if model in MAY_USE[caller]:
            assert chat.status_code == 200 and one.status_code == 200, (model, chat.text)
        else:  # exactly what an unknown model answers: nothing is revealed
            assert chat.status_code == 404 and chat.json()["error"]["code"] == "model_not_found"
            assert one.status_code == 404
            unknown = _chat(gateway, token, "no-such-model").json()["error"]
            assert chat.json()["error"]["message"].replace(model, "X") == unknown["message"].replace("no-such-model", "X")


# The user group --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def user_group_gateway(serve_platform, models, master_key, test_output) -> Iterator[str]:
    auth = serve_platform.auth.model_copy(update={"user_group": "lisa-users"})
    with run_gateway(serve_platform.model_copy(update={"auth": auth}), test_output / "serve-user-group.log") as base:
        wait_routable(base, "chat", master_key)
        yield base


def test_outside_the_user_group_is_refused_everywhere(user_group_gateway, tokens, admin_token):
    outsider = tokens.issue(user_id="out", username="out", name="tests", groups=["team-a"])[0]
    insider = tokens.issue(user_id="in", username="in", name="tests", groups=["lisa-users"])[0]
    for path in ("/v2/serve/models", "/v2/serve/models/chat"):
        assert requests.get(f"{user_group_gateway}{path}", headers=_auth(outsider), timeout=10).status_code == 403
    refused = _chat(user_group_gateway, outsider, "chat")
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"
    assert _chat(user_group_gateway, insider, "chat").status_code == 200
    assert _chat(user_group_gateway, admin_token, "chat").status_code == 200  # admins are always in


@pytest.fixture(scope="module")
def user_group_api(serve_platform, test_output) -> Iterator[str]:
    """The api app as a real process on the same platform with the same userGroup as `user_group_gateway`."""
    auth = serve_platform.auth.model_copy(update={"user_group": "lisa-users"})
    env = {"LISA_PLATFORM": serve_platform.model_copy(update={"auth": auth}).model_dump_json(),
           **processes.engine_env(test_output / "user-group-api-model-stacks", LISA_ENGINE_RESUME_ON_START="false")}
    with processes.api_app(env, log=test_output / "user-group-api.log") as (base, _):
        yield base


def test_the_api_refuses_a_caller_outside_the_user_group_as_serve_does(user_group_api, user_group_gateway, tokens,
                                                                       admin_token):
    outsider = tokens.issue(user_id="api-out", username="api-out", name="tests", groups=["team-a"])[0]
    insider = tokens.issue(user_id="api-in", username="api-in", name="tests", groups=["lisa-users"])[0]
    for path in ("/models", "/session", "/api-tokens", "/configuration?configScope=global"):
        refused = requests.get(f"{user_group_api}{path}", headers=_auth(outsider), timeout=10)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json() == {"error": "PermissionDeniedError",
                                  "message": "only members of the group lisa-users may use this platform"}
        for admitted in (insider, admin_token):  # members, and admins who are always in
            assert requests.get(f"{user_group_api}{path}", headers=_auth(admitted), timeout=10).status_code == 200, path
    # serve refuses the same caller with the same reason, in OpenAI's error object
    served = requests.get(f"{user_group_gateway}/v2/serve/models", headers=_auth(outsider), timeout=10)
    assert served.status_code == 403 and served.json()["error"]["message"] == refused.json()["message"]


# Rate limits -----------------------------------------------------------------------------------------------------
LIMITS = RateLimitConfig(rpm=600, burst=30, overrides={"group:slow": RateLimit(rpm=60, burst=2)},
                         models={"limited-model": RateLimit(rpm=60, burst=2)})


@pytest.fixture(scope="module")
def limited_gateways(serve_platform, models, register, stand_in_upstream, master_key, test_output):
    """Two serve processes sharing one platform whose limits are 600/min with a burst of 30."""
    register("limited-model", "stand-in-chat", stand_in_upstream)
    platform = serve_platform.model_copy(update={"rate_limits": LIMITS})
    with run_gateway(platform, test_output / "serve-limited-1.log") as one, \
            run_gateway(platform, test_output / "serve-limited-2.log") as two:
        for base in (one, two):
            wait_routable(base, "limited-model", master_key)
        yield one, two


def test_two_serve_processes_hold_one_limit_within_ten_percent(limited_gateways, tokens):
    """Sustained demand (about 8x the limit) for one minute on both processes: 600/min ± 10 % get through."""
    token = tokens.issue(user_id="busy", username="busy", name="tests")[0]
    deadline = time.monotonic() + 60

    def client(base: str) -> tuple[int, int]:
        admitted = refused = 0
        with requests.Session() as session:
            while time.monotonic() < deadline:
                response = session.post(f"{base}/v2/serve/chat/completions", headers=_auth(token), timeout=30,
                                        json={"model": "chat", "messages": [{"role": "user", "content": "x"}]})
                if response.status_code == 200:
                    admitted += 1
                else:
                    assert response.status_code == 429 and response.json()["error"]["type"] == "rate_limit_error"
                    refused += 1
                time.sleep(0.05)
        return admitted, refused

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(client, [*limited_gateways, *limited_gateways]))
    admitted = sum(r[0] for r in results)
    print(f"admitted {admitted} of {admitted + sum(r[1] for r in results)} in 60 s across 2 serve processes "
          f"(limit 600/min, burst 30)")
    assert 600 * 0.9 <= admitted <= 600 * 1.1
    assert all(r[0] > 0 for r in results)  # both processes served some


def test_retry_after_is_truthful(limited_gateways, tokens):
    base = limited_gateways[0]
    token = tokens.issue(user_id="slowpoke", username="slowpoke", name="tests", groups=["slow"])[0]  # 60/min, burst 2
    statuses = [_chat(base, token, "chat") for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    refused = statuses[-1]
    wait = int(refused.headers["retry-after"])
    assert refused.json()["error"]["code"] == "rate_limit_exceeded" and 1 <= wait <= 2
    assert _chat(base, token, "chat").status_code == 429  # not before
    time.sleep(wait)  # the contract under test: waiting as told is enough
    assert _chat(base, token, "chat").status_code == 200


def test_a_per_model_limit_applies_to_that_model_only(limited_gateways, tokens):
    base = limited_gateways[0]
    token = tokens.issue(user_id="model-limited", username="model-limited", name="tests")[0]
    assert [_chat(base, token, "limited-model").status_code for _ in range(3)] == [200, 200, 429]
    assert _chat(base, token, "chat").status_code == 200


def test_admins_are_exempt(limited_gateways, admin_token):
    assert {_chat(limited_gateways[0], admin_token, "limited-model").status_code for _ in range(8)} == {200}


# Usage -----------------------------------------------------------------------------------------------------------
def _sse_chunks(response: requests.Response) -> list[dict]:
    import json

    events = [e.removeprefix(b"data: ") for e in response.content.split(b"\n\n") if e.strip()]
    return [json.loads(e) for e in events if e != b"[DONE]"]


def test_usage_rows_match_what_was_sent_streams_included(gateway, tokens, platform, serve_platform):
    token, info = tokens.issue(user_id="meter-me", username="meter-me", name="tests", groups=["team-m"])
    sent = {"prompt": 0, "completion": 0}

    def count(usage: dict) -> None:
        sent["prompt"] += usage["prompt_tokens"]
        sent["completion"] += usage["completion_tokens"]

    for _ in range(3):
        count(_chat(gateway, token, "chat").json()["usage"])
    for _ in range(2):  # the client did not ask for usage: it gets none, serve meters it anyway
        chunks = _sse_chunks(_chat(gateway, token, "chat", stream=True))
        assert chunks and all("usage" not in c or c["usage"] is None for c in chunks)
        count({"prompt_tokens": 3, "completion_tokens": 4})  # the stand-in's count for this prompt and its echo
    chunks = _sse_chunks(_chat(gateway, token, "chat", stream=True, stream_options={"include_usage": True}))
    count(chunks[-1]["usage"])
    embedded = requests.post(f"{gateway}/v2/serve/embeddings", headers=_auth(token), timeout=30,
                             json={"model": "embed", "input": ["a b", "c"]}).json()["usage"]
    count({"prompt_tokens": embedded["prompt_tokens"], "completion_tokens": 0})
    assert _chat(gateway, token, "limited").status_code == 429  # an upstream refusal is metered with its status

    table = Table(serve_platform.tables.usage)

    def rows() -> list[dict]:
        found = list(table.query("userId = :u", values={":u": "meter-me"}, index="byUser"))
        return found if sum(r["requests"] for r in found) >= 8 else []

    found = eventually(rows, 20, "usage rows for the 8 calls")
    assert sum(r["requests"] for r in found) == 8
    assert sum(r["promptTokens"] for r in found) == sent["prompt"]
    assert sum(r["completionTokens"] for r in found) == sent["completion"]
    assert {r["tokenId"] for r in found} == {info.token_uuid} and all(r["groups"] == ["team-m"] for r in found)
    by_status = {}
    for r in found:
        by_status[(r["endpoint"], r["status"])] = by_status.get((r["endpoint"], r["status"]), 0) + r["requests"]
    assert by_status == {("chat/completions", 200): 6, ("embeddings", 200): 1, ("chat/completions", 429): 1}
    assert all(r["latencyMsSum"] > 0 for r in found)
    assert sum(r["ttftCount"] for r in found if r["endpoint"] == "chat/completions") == 3  # the three streams


# Audit and metrics -----------------------------------------------------------------------------------------------
def test_refused_credentials_are_audited_without_the_credential(gateway, serve_platform):
    bogus = "lisa-not-a-real-token-" + str(time.time_ns())
    assert requests.get(f"{gateway}/v2/serve/models", headers=_auth(bogus), timeout=10).status_code == 401
    table = Table(serve_platform.tables.audit)
    day = time.strftime("day#%Y-%m-%d", time.gmtime())

    def refusals() -> list[dict]:
        items = list(table.query("pk = :d", values={":d": day}))
        return [i for i in items if i["action"] == "auth.refused" and i.get("target") == "GET /v2/serve/models"]

    found = eventually(refusals, 15, "an auth.refused audit event")
    assert found[-1]["outcome"] == "denied" and found[-1]["sourceIp"] == "127.0.0.1"
    assert all(bogus not in str(item) for item in table.query("pk = :d", values={":d": day}))


def test_prometheus_metrics_are_for_admins(gateway, admin_token, user_token):
    assert requests.get(f"{gateway}/v2/serve/metrics", timeout=10).status_code == 401
    assert requests.get(f"{gateway}/v2/serve/metrics", headers=_auth(user_token), timeout=10).status_code == 403
    text = requests.get(f"{gateway}/v2/serve/metrics", headers=_auth(admin_token), timeout=10).text
    for name in ("lisa_serve_requests_total", "lisa_serve_request_duration_seconds_bucket",
                 "lisa_serve_registry_version", "lisa_serve_active_streams", "lisa_serve_auth_refused_total"):
        assert name in text
    assert 'route="chat/completions",status="200"' in text


def _counter(base: str, admin_token: str, name: str, **labels: str) -> float:
    """The value of one Prometheus counter sample (0 when absent) read from serve's /metrics as an admin."""
    response = requests.get(f"{base}/v2/serve/metrics", headers=_auth(admin_token), timeout=10)
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == f"{name}_total" and sample.labels == labels:
                return sample.value
    return 0.0


def test_upstream_errors_are_counted_by_model_and_status(gateway, admin_token, user_token):
    before = _counter(gateway, admin_token, "lisa_serve_upstream_errors", model="unavailable", status="503")
    other_before = _counter(gateway, admin_token, "lisa_serve_upstream_errors", model="chat", status="503")
    for _ in range(3):
        failed = _chat(gateway, user_token, "unavailable")
        assert failed.status_code == 503, failed.text  # the stand-in's fault-503, passed on
    assert _chat(gateway, user_token, "chat").status_code == 200  # a success counts nothing
    assert _counter(gateway, admin_token, "lisa_serve_upstream_errors", model="unavailable", status="503") == before + 3
    assert _counter(gateway, admin_token, "lisa_serve_upstream_errors", model="chat", status="503") == other_before


def test_rate_limit_refusals_are_counted_by_scope(limited_gateways, tokens, admin_token):
    base = limited_gateways[0]
    caller_before = _counter(base, admin_token, "lisa_serve_rate_limited", scope="caller")
    model_before = _counter(base, admin_token, "lisa_serve_rate_limited", scope="model")
    slow = tokens.issue(user_id="counted-slow", username="counted-slow", name="tests", groups=["slow"])[0]
    assert [_chat(base, slow, "chat").status_code for _ in range(3)] == [200, 200, 429]  # burst 2
    assert _counter(base, admin_token, "lisa_serve_rate_limited", scope="caller") == caller_before + 1
    assert _counter(base, admin_token, "lisa_serve_rate_limited", scope="model") == model_before
    plain = tokens.issue(user_id="counted-model", username="counted-model", name="tests")[0]
    assert [_chat(base, plain, "limited-model").status_code for _ in range(3)] == [200, 200, 429]
    assert _counter(base, admin_token, "lisa_serve_rate_limited", scope="model") == model_before + 1
    assert _counter(base, admin_token, "lisa_serve_rate_limited", scope="caller") == caller_before + 1
