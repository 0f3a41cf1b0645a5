"""Token admin routes on the api app: admins issue, list and revoke; the plain token is shown once; a non-admin
gets 403; an issued token works on serve at once and stops after its revocation."""

from __future__ import annotations

import time

import requests

from services.identity.authenticator import TOKEN_CACHE_TTL_S
from tests.fixtures.eventually import eventually


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_issues_a_token_that_serve_accepts(token_api, gateway, admin_token):
    response = requests.post(f"{token_api}/tokens", json={"name": "ci", "owner": "dev-7", "groups": ["team-a"]},
                             headers=_auth(admin_token), timeout=10)
    assert response.status_code == 201
    issued = response.json()
    assert issued["token"].startswith("lisa-") and issued["owner"] == "dev-7" and issued["groups"] == ["team-a"]
    assert requests.get(f"{gateway}/v2/serve/models", headers=_auth(issued["token"]), timeout=10).status_code == 200


def test_listing_never_shows_the_token_or_its_hash(token_api, admin_token):
    issued = requests.post(f"{token_api}/tokens", json={"name": "listed"}, headers=_auth(admin_token), timeout=10).json()
    listing = requests.get(f"{token_api}/tokens", headers=_auth(admin_token), timeout=10)
    assert listing.status_code == 200
    assert issued["tokenId"] in {t["tokenId"] for t in listing.json()["tokens"]}
    assert issued["token"] not in listing.text and "tokenHash" not in listing.text


def test_non_admin_cannot_issue(token_api, user_token):
    response = requests.post(f"{token_api}/tokens", json={"name": "x"}, headers=_auth(user_token), timeout=10)
    assert response.status_code == 403


def test_non_admin_cannot_revoke(token_api, user_token, tokens):
    _, info = tokens.issue(owner="someone")
    assert requests.delete(f"{token_api}/tokens/{info.token_id}", headers=_auth(user_token), timeout=10).status_code == 403


def test_non_admin_lists_only_own_tokens(token_api, user_token, tokens):
    tokens.issue(owner="somebody-else")
    listing = requests.get(f"{token_api}/tokens", headers=_auth(user_token), timeout=10).json()["tokens"]
    assert listing and {t["owner"] for t in listing} == {"user-1"}


def test_no_credentials_is_401(token_api):
    assert requests.get(f"{token_api}/tokens", timeout=10).status_code == 401


def test_expiration_in_the_past_is_refused(token_api, admin_token):
    response = requests.post(f"{token_api}/tokens", json={"tokenExpiration": int(time.time()) - 5},
                             headers=_auth(admin_token), timeout=10)
    assert response.status_code == 400


def test_revoked_token_stops_working_on_serve(token_api, gateway, admin_token):
    issued = requests.post(f"{token_api}/tokens", json={"name": "short"}, headers=_auth(admin_token), timeout=10).json()
    assert requests.get(f"{gateway}/v1/models", headers=_auth(issued["token"]), timeout=10).status_code == 200
    revoked = requests.delete(f"{token_api}/tokens/{issued['tokenId']}", headers=_auth(admin_token), timeout=10)
    assert revoked.status_code == 200
    eventually(lambda: requests.get(f"{gateway}/v1/models", headers=_auth(issued["token"]), timeout=10).status_code
               == 401, TOKEN_CACHE_TTL_S + 2, "the revoked token refused on serve")


def test_revoking_an_unknown_id_is_404(token_api, admin_token):
    assert requests.delete(f"{token_api}/tokens/nope", headers=_auth(admin_token), timeout=10).status_code == 404


def test_cli_issues_lists_and_revokes(platform, gateway):
    import os
    import subprocess
    import sys

    env = {**os.environ, "LISA_PLATFORM": platform[0].model_dump_json()}

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "services.identity.tokens", *args], env=env, capture_output=True,
                              text=True, check=True, timeout=60).stdout

    issued = cli("issue", "--owner", "cli-user", "--name", "from the cli")
    token = issued.split("store it now): ")[1].split()[0]
    token_id = next(line.split('"')[3] for line in issued.splitlines() if '"tokenId"' in line)
    assert requests.get(f"{gateway}/v1/models", headers=_auth(token), timeout=10).status_code == 200
    assert token_id in cli("list") and token not in cli("list")
    assert "revoked" in cli("revoke", token_id)
