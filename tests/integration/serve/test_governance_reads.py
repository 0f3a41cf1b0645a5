"""The governance reads of the api, against what a real serve wrote: `GET /metrics/usage` totals that match the
requests sent through the gateway (streams included), `GET /audit` paged and filtered with no token or secret in any
event, the api's Prometheus `/metrics`, and who may read what (a matrix of callers x routes)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.fixtures.eventually import eventually
from tests.integration.serve.conftest import API_GROUP


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _chat(gateway: str, token: str, model: str, **extra) -> requests.Response:
    return requests.post(f"{gateway}/v2/serve/chat/completions", headers=_auth(token), timeout=30,
                         json={"model": model, "messages": [{"role": "user", "content": "one two three"}], **extra})


def _stream_usage(response: requests.Response) -> dict:
    events = [e.removeprefix(b"data: ") for e in response.content.split(b"\n\n") if e.strip()]
    return [json.loads(e) for e in events if e != b"[DONE]"][-1]["usage"]


@pytest.fixture(scope="module")
def callers(tokens, user_token, admin_token) -> dict[str, str | None]:
    api_user, _ = tokens.issue(user_id="gov-api-user", username="gina", name="tests", groups=[API_GROUP])
    return {"none": None, "user": user_token, "api user": api_user, "admin": admin_token}


READS = {  # path → {caller: status}
    "/metrics/usage": {"none": 401, "user": 200, "api user": 200, "admin": 200},
    "/metrics/usage?userId=someone-else": {"none": 401, "user": 403, "api user": 403, "admin": 200},
    "/audit": {"none": 401, "user": 403, "api user": 403, "admin": 200},
    "/metrics": {"none": 401, "user": 403, "api user": 403, "admin": 200},
}


@pytest.mark.parametrize("path", list(READS))
def test_who_may_read_what(token_api, callers, path):
    for caller, status in READS[path].items():
        response = requests.get(f"{token_api}{path}", headers=_auth(callers[caller]), timeout=30)
        assert response.status_code == status, (caller, response.text)
        if status >= 400 and path != "/metrics":
            assert set(response.json()) == {"error", "message"}


# Usage -----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def metered(gateway, tokens) -> dict:
    """Requests sent through serve by a user of their own, and what the answers said they used."""
    user_id = f"usage-reader-{time.time_ns()}"
    token, _ = tokens.issue(user_id=user_id, username="ursula", name="tests", groups=["team-u"])
    sent = {"requests": 0, "prompt": 0, "completion": 0, "errors": 0, "chat": 0, "embed": 0}

    def count(usage: dict, model: str) -> None:
        sent["requests"] += 1
        sent[model] += 1
        sent["prompt"] += usage["prompt_tokens"]
        sent["completion"] += usage.get("completion_tokens", 0)

    started = time.time()
    for _ in range(3):
        count(_chat(gateway, token, "chat").json()["usage"], "chat")
    for _ in range(2):
        count(_stream_usage(_chat(gateway, token, "chat", stream=True, stream_options={"include_usage": True})), "chat")
    embedded = requests.post(f"{gateway}/v2/serve/embeddings", headers=_auth(token), timeout=30,
                             json={"model": "embed", "input": ["a b", "c"]})
    count(embedded.json()["usage"], "embed")
    assert _chat(gateway, token, "limited").status_code == 429  # the upstream's refusal: metered as an error
    sent.update(requests=sent["requests"] + 1, errors=1)
    return {"user_id": user_id, "token": token, "sent": sent, "start": int(started) - 60}


def _usage(api: str, token: str, **query) -> dict:
    response = requests.get(f"{api}/metrics/usage", headers=_auth(token), params=query, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_users_own_totals_match_what_they_sent_through_serve(token_api, metered):
    sent = metered["sent"]

    def report() -> dict | None:
        answer = _usage(token_api, metered["token"], start=metered["start"])
        return answer if answer["totals"]["requests"] >= sent["requests"] else None

    answer = eventually(report, 30, "serve's usage rows for the requests sent")
    totals = answer["totals"]
    assert (totals["requests"], totals["errors"]) == (sent["requests"], sent["errors"])
    assert (totals["promptTokens"], totals["completionTokens"]) == (sent["prompt"], sent["completion"])
    assert totals["totalTokens"] == sent["prompt"] + sent["completion"] and totals["avgLatencyMs"] > 0
    assert [(u["userId"], u["username"], u["requests"]) for u in answer["byUser"]] == [
        (metered["user_id"], "ursula", sent["requests"])]
    by_model = {m["model"]: m["requests"] for m in answer["byModel"]}
    assert by_model == {"chat": sent["chat"], "embed": sent["embed"], "limited": 1}
    assert [g["group"] for g in answer["byGroup"]] == ["team-u"]
    assert answer["interval"] == "hour" and answer["userId"] == metered["user_id"]
    assert sum(p["requests"] for p in answer["timeline"]) == sent["requests"]
    assert sum(p["totalTokens"] for p in answer["timeline"]) == totals["totalTokens"]
    assert sum(d["requests"] for d in answer["byDay"]) == sent["requests"]


def test_admins_read_everyones_totals_or_one_users(token_api, callers, metered):
    sent = metered["sent"]
    eventually(lambda: _usage(token_api, metered["token"], start=metered["start"])["totals"]["requests"]
               >= sent["requests"], 30, "the usage rows written")
    one = _usage(token_api, callers["admin"], start=metered["start"], userId=metered["user_id"], interval="day")
    assert one["totals"]["requests"] == sent["requests"] and one["interval"] == "day"
    everyone = _usage(token_api, callers["admin"], start=metered["start"])
    assert everyone["userId"] is None
    mine = next(u for u in everyone["byUser"] if u["userId"] == metered["user_id"])
    assert (mine["requests"], mine["promptTokens"]) == (sent["requests"], sent["prompt"])
    assert everyone["totals"]["requests"] >= sent["requests"]
    assert everyone["totals"]["requests"] == sum(u["requests"] for u in everyone["byUser"])


def test_a_range_before_the_requests_holds_none_of_them(token_api, metered):
    answer = _usage(token_api, metered["token"], start=metered["start"] - 7200, end=metered["start"] - 3600)
    assert answer["totals"]["requests"] == 0 and answer["timeline"] == [] and answer["byUser"] == []


@pytest.mark.parametrize("query", [{"start": "yesterday"}, {"start": "2024-01-01", "end": "2025-03-01"},
                                   {"start": "2025-03-02", "end": "2025-03-01"},
                                   {"start": "2025-01-01", "end": "2025-03-01", "interval": "hour"}])
def test_a_bad_range_is_a_400(token_api, callers, query):
    response = requests.get(f"{token_api}/metrics/usage", headers=_auth(callers["admin"]), params=query, timeout=30)
    assert (response.status_code, response.json()["error"]) == (400, "InvalidInputError")


# Audit -----------------------------------------------------------------------------------------------------------
def _audit(api: str, token: str, **query) -> dict:
    response = requests.get(f"{api}/audit", headers=_auth(token), params=query, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _every_event(api: str, token: str, **query) -> list[dict]:
    events, next_token = [], None
    for _ in range(200):
        page = _audit(api, token, **query, **({"nextToken": next_token} if next_token else {}))
        events += page["items"]
        next_token = page["nextToken"]
        if not next_token:
            return events
    raise AssertionError("the audit log kept answering pages")


@pytest.fixture(scope="module")
def audited(token_api, gateway, callers) -> dict:
    """Token issue and revoke (self-service and by an admin), and refused credentials on the api and on serve."""
    started = time.time() - 1
    own = requests.post(f"{token_api}/api-tokens", json={"name": "audited-own"}, headers=_auth(callers["api user"]),
                        timeout=30).json()
    theirs = requests.post(f"{token_api}/api-tokens/audited-bot", json={"name": "audited-bot", "groups": ["g"]},
                           headers=_auth(callers["admin"]), timeout=30).json()
    for created, revoker in ((own, "api user"), (theirs, "admin")):
        assert requests.delete(f"{token_api}/api-tokens/{created['tokenUUID']}", headers=_auth(callers[revoker]),
                               timeout=30).status_code == 200
    bogus = f"lisa-bogus-{time.time_ns()}"
    assert requests.get(f"{token_api}/api-tokens", headers=_auth(bogus), timeout=30).status_code == 401
    assert requests.get(f"{gateway}/v2/serve/models", headers=_auth(bogus + "-serve"), timeout=30).status_code == 401
    assert requests.get(f"{token_api}/audit", headers=_auth(callers["user"]), timeout=30).status_code == 403
    secrets = [own["token"], theirs["token"], bogus, callers["api user"], callers["admin"], callers["user"]]
    return {"start": int(started), "own": own, "theirs": theirs, "bogus": bogus, "secrets": secrets}


def test_token_issue_and_revoke_are_audited_newest_first(token_api, callers, audited):
    uuids = {audited["own"]["tokenUUID"], audited["theirs"]["tokenUUID"]}

    def token_events() -> list[dict] | None:
        events = [e for e in _every_event(token_api, callers["admin"], action="token", start=audited["start"])
                  if e["target"] in uuids]
        return events if len(events) == 4 else None

    events = eventually(token_events, 20, "the four token events")
    assert [e["action"] for e in events] == ["token.revoke", "token.revoke", "token.create", "token.create"]
    assert [e["time"] for e in events] == sorted((e["time"] for e in events), reverse=True)
    by = {(e["action"], e["target"]): e for e in events}
    own, theirs = audited["own"]["tokenUUID"], audited["theirs"]["tokenUUID"]
    assert by[("token.create", own)]["actorName"] == "gina" and by[("token.create", theirs)]["actorName"] == "root"
    assert by[("token.create", theirs)]["details"]["username"] == "audited-bot"
    assert all(e["outcome"] == "success" and e["sourceIp"] == "127.0.0.1" for e in events)


def test_refusals_are_audited_and_found_by_outcome(token_api, callers, audited):
    def refusals() -> list[dict] | None:
        events = _every_event(token_api, callers["admin"], outcome="denied", start=audited["start"])
        targets = {(e["action"], e["target"]) for e in events}
        wanted = {("auth.refused", "GET /api-tokens"), ("auth.refused", "GET /v2/serve/models"),
                  ("authz.refused", "GET /audit")}
        return events if wanted <= targets else None

    events = eventually(refusals, 20, "the refusals on the api and serve")
    assert {e["outcome"] for e in events} == {"denied"}
    assert any(e["action"] == "authz.refused" and e["actorId"] == "user-1" for e in events)


def test_no_token_or_secret_appears_in_any_audit_event(token_api, callers, audited):
    eventually(lambda: len(_every_event(token_api, callers["admin"], start=audited["start"])) >= 7, 20,
               "the audited events written")
    text = json.dumps(_every_event(token_api, callers["admin"], start=audited["start"]))
    for secret in audited["secrets"]:
        assert secret not in text


def test_pages_follow_the_next_token_without_repeats_and_filter_by_actor(token_api, callers, audited):
    eventually(lambda: len(_every_event(token_api, callers["admin"], actor="root", start=audited["start"])) >= 2, 20,
               "the admin's events")
    one_by_one = _every_event(token_api, callers["admin"], start=audited["start"], pageSize=1)
    whole = _every_event(token_api, callers["admin"], start=audited["start"], pageSize=500)  # read later: maybe more
    ids = [e["id"] for e in one_by_one]
    assert len(ids) >= 7 and len(set(ids)) == len(ids) and set(ids) <= {e["id"] for e in whole}
    assert ids == sorted(ids, reverse=True)  # ids start with the event's time: newest first across pages
    by_root = _every_event(token_api, callers["admin"], actor="root", start=audited["start"])
    assert by_root and all("root" in (e["actorName"], e["actorId"]) for e in by_root)
    by_id = _every_event(token_api, callers["admin"], actor="admin-1", start=audited["start"])
    assert {e["id"] for e in by_id} == {e["id"] for e in by_root}


def test_a_token_from_elsewhere_is_a_400(token_api, callers):
    response = requests.get(f"{token_api}/audit", headers=_auth(callers["admin"]), timeout=30,
                            params={"nextToken": "eyJub3QiOiJvdXJzIn0"})
    assert (response.status_code, response.json()["error"]) == (400, "InvalidInputError")


# The api's Prometheus metrics ------------------------------------------------------------------------------------
def test_the_api_counts_requests_by_route_template(token_api, callers):
    requests.get(f"{token_api}/api-tokens/no-such-token-id", headers=_auth(callers["admin"]), timeout=30)
    text = requests.get(f"{token_api}/metrics", headers=_auth(callers["admin"]), timeout=30).text
    assert 'lisa_api_requests_total{method="GET",route="/api-tokens/{tokenUUID}",status="404"}' in text
    assert "no-such-token-id" not in text
    assert 'lisa_api_request_duration_seconds_count{method="GET",route="/api-tokens/{tokenUUID}"}' in text
