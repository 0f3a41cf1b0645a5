"""LISA v6's `/api-tokens` on the api app: who may do what (a matrix of callers x routes), the shapes, the rules
(default and future expiry, groups copied from the caller), and a revoked token refused by every serve process
within the token cache time."""

from __future__ import annotations

import time

import pytest
import requests

from services.identity.authenticator import TOKEN_CACHE_TTL_S
from tests.integration.serve.conftest import API_GROUP

TOKEN_INFO_KEYS = {"tokenUUID", "tokenExpiration", "createdDate", "username", "createdBy", "name", "groups",
                   "isSystemToken", "isExpired"}


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(scope="module")
def callers(tokens, user_token, admin_token, master_key) -> dict[str, str | None]:
    api_user, _ = tokens.issue(user_id="api-user-1", username="dana", name="tests", groups=[API_GROUP, "team-a"])
    return {"none": None, "user": user_token, "api user": api_user, "admin": admin_token, "master key": master_key}


@pytest.fixture(scope="module")
def someone_elses(tokens) -> str:
    return tokens.issue(user_id="other-user", username="olga", name="theirs")[1].token_uuid


MATRIX = [  # (method, path, body, {caller: status})
    ("POST", "/api-tokens", {"name": "mine"},
     {"none": 401, "user": 403, "api user": 200, "admin": 200, "master key": 200}),
    ("POST", "/api-tokens/erin", {"name": "for erin", "groups": ["team-b"]},
     {"none": 401, "user": 403, "api user": 403, "admin": 200, "master key": 200}),
    ("GET", "/api-tokens", None, {"none": 401, "user": 200, "api user": 200, "admin": 200, "master key": 200}),
    ("GET", "/api-tokens/{other}", None, {"none": 401, "user": 404, "api user": 404, "admin": 200, "master key": 200}),
    ("DELETE", "/api-tokens/{other}", None, {"none": 401, "user": 404, "api user": 404, "admin": 200}),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_who_may_do_what(token_api, callers, tokens, method, path, body, expected):
    for caller, status in expected.items():
        other = tokens.issue(user_id="other-user", username="olga", name="theirs")[1].token_uuid
        response = requests.request(method, f"{token_api}{path.format(other=other)}", json=body, timeout=10,
                                    headers=_auth(callers[caller]))
        assert response.status_code == status, (caller, response.text)


def test_self_service_copies_the_callers_groups_and_expires_in_90_days(token_api, callers, gateway):
    before = time.time()
    created = requests.post(f"{token_api}/api-tokens", json={"name": "laptop"}, headers=_auth(callers["api user"]),
                            timeout=10).json()
    assert set(created) == TOKEN_INFO_KEYS | {"token", "userId"}
    assert created["groups"] == [API_GROUP, "team-a"] and created["username"] == "dana"
    assert created["isSystemToken"] is False and created["isExpired"] is False
    assert abs(created["tokenExpiration"] - (before + 90 * 86400)) < 60
    models = requests.get(f"{gateway}/v2/serve/models", headers=_auth(created["token"]), timeout=10)
    assert models.status_code == 200  # usable at once on serve


def test_an_expiry_in_the_past_is_400(token_api, callers):
    response = requests.post(f"{token_api}/api-tokens", json={"name": "x", "tokenExpiration": int(time.time()) - 5},
                             headers=_auth(callers["admin"]), timeout=10)
    assert (response.status_code, response.json()["error"]) == (400, "InvalidInputError")


def test_admins_issue_system_tokens_with_the_groups_they_name(token_api, callers):
    created = requests.post(f"{token_api}/api-tokens/ci-bot", headers=_auth(callers["admin"]), timeout=10,
                            json={"name": "ci", "groups": ["team-b"], "isSystemToken": True}).json()
    assert (created["username"], created["groups"], created["isSystemToken"]) == ("ci-bot", ["team-b"], True)
    listed = requests.get(f"{token_api}/api-tokens", headers=_auth(callers["admin"]), timeout=10).json()["tokens"]
    assert created["tokenUUID"] in {t["tokenUUID"] for t in listed}
    assert all("token" not in t and set(t) == TOKEN_INFO_KEYS | {"userId"} for t in listed)


def test_users_list_only_their_own(token_api, callers, someone_elses):
    mine = requests.post(f"{token_api}/api-tokens", json={"name": "own"}, headers=_auth(callers["api user"]),
                         timeout=10).json()["tokenUUID"]
    listed = requests.get(f"{token_api}/api-tokens", headers=_auth(callers["api user"]), timeout=10).json()["tokens"]
    uuids = {t["tokenUUID"] for t in listed}
    assert mine in uuids and someone_elses not in uuids and {t["username"] for t in listed} == {"dana"}


def test_owners_read_and_delete_their_token(token_api, callers):
    mine = requests.post(f"{token_api}/api-tokens", json={"name": "temp"}, headers=_auth(callers["api user"]),
                         timeout=10).json()
    got = requests.get(f"{token_api}/api-tokens/{mine['tokenUUID']}", headers=_auth(callers["api user"]), timeout=10)
    assert got.status_code == 200 and got.json()["name"] == "temp"
    deleted = requests.delete(f"{token_api}/api-tokens/{mine['tokenUUID']}", headers=_auth(callers["api user"]),
                              timeout=10)
    assert deleted.json() == {"message": "Token deleted successfully", "tokenUUID": mine["tokenUUID"]}
    assert requests.get(f"{token_api}/api-tokens", headers=_auth(mine["token"]), timeout=10).status_code == 401


def test_a_revoked_token_stops_on_every_serve_process_within_the_cache_time(token_api, callers, gateway,
                                                                           litellm_gateway):
    created = requests.post(f"{token_api}/api-tokens", json={"name": "to revoke"},
                            headers=_auth(callers["api user"]), timeout=10).json()
    gateways = [gateway, litellm_gateway]  # two serve processes, each with its own caches
    for base in gateways:  # both have the token cached now
        assert requests.get(f"{base}/v2/serve/models", headers=_auth(created["token"]), timeout=10).status_code == 200
    requests.delete(f"{token_api}/api-tokens/{created['tokenUUID']}", headers=_auth(callers["admin"]), timeout=10)
    revoked_at, stopped = time.monotonic(), {}
    while len(stopped) < len(gateways):
        for base in gateways:
            if base not in stopped and requests.get(f"{base}/v2/serve/models", headers=_auth(created["token"]),
                                                    timeout=10).status_code == 401:
                stopped[base] = time.monotonic() - revoked_at
        assert time.monotonic() - revoked_at < TOKEN_CACHE_TTL_S + 1, f"still accepted after {stopped}"
        time.sleep(0.05)
    print(f"revoked token refused after {max(stopped.values()):.2f} s on the slowest of {len(gateways)} serve processes")
    assert max(stopped.values()) <= TOKEN_CACHE_TTL_S + 0.5
