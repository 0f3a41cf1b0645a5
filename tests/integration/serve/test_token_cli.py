"""The platform engineers' token CLI (`python -m services.identity.tokens`) against the emulator: issue prints the
token once and it works on serve; the table holds only its SHA-256; list shows it without its value; revoke deletes
it and serve refuses it within the token cache time."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
import requests

from core import aws
from services.identity.authenticator import TOKEN_CACHE_TTL_S
from tests.fixtures.eventually import eventually


def cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI as an engineer runs it: its own process, the platform named by LISA_PLATFORM (set by `platform`)."""
    return subprocess.run([sys.executable, "-m", "services.identity.tokens", *args], capture_output=True, text=True,
                          timeout=60, env=os.environ.copy())


def table_items(platform) -> list[dict]:
    outputs, _ = platform
    return aws.client("dynamodb").scan(TableName=outputs.tables.tokens)["Items"]


def serve_status(gateway: str, token: str) -> int:
    return requests.get(f"{gateway}/v2/serve/models", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code


@pytest.fixture(scope="module")
def issued(platform, gateway) -> tuple[str, dict, str]:
    """(token, its info, the whole stdout) of a token issued through the CLI."""
    run = cli("issue", "--username", "cli-user", "--name", "laptop", "--group", "team-cli", "--days", "1")
    assert run.returncode == 0, run.stderr
    first, rest = run.stdout.split("\n", 1)
    token = first.removeprefix("token (shown once, store it now): ")
    assert token != first and token.strip() == token and len(token) >= 32
    return token, json.loads(rest), run.stdout


def test_issue_prints_the_token_once_and_it_works_on_serve(issued, gateway):
    token, info, stdout = issued
    assert stdout.count(token) == 1  # the info printed after it does not repeat it
    assert info["username"] == "cli-user" and info["groups"] == ["team-cli"] and info["createdBy"] == "cli"
    assert serve_status(gateway, token) == 200
    assert serve_status(gateway, token[:-1] + ("A" if token[-1] != "A" else "B")) == 401


def test_the_table_holds_the_tokens_hash_never_the_token(issued, platform):
    token, info, _ = issued
    items = table_items(platform)
    mine = [i for i in items if i.get("tokenUUID", {}).get("S") == info["tokenUUID"]]  # other tests' items too
    assert len(mine) == 1 and mine[0]["tokenHash"]["S"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(items)


def test_list_shows_the_token_without_its_value(issued):
    token, info, _ = issued
    run = cli("list")
    assert run.returncode == 0, run.stderr
    line, = [ln for ln in run.stdout.splitlines() if ln.startswith(info["tokenUUID"])]
    assert "user=cli-user" in line and "groups=team-cli" in line and "name=laptop" in line
    assert token not in run.stdout and hashlib.sha256(token.encode()).hexdigest() not in run.stdout


def test_revoke_deletes_the_token_and_serve_refuses_it(issued, platform, gateway):
    token, info, _ = issued
    assert serve_status(gateway, token) == 200  # cached by serve now
    run = cli("revoke", info["tokenUUID"])
    assert (run.returncode, run.stdout.strip()) == (0, f"revoked {info['tokenUUID']} (user cli-user)"), run.stderr
    assert all(i.get("tokenUUID", {}).get("S") != info["tokenUUID"] for i in table_items(platform))
    assert info["tokenUUID"] not in cli("list").stdout
    eventually(lambda: serve_status(gateway, token) == 401, TOKEN_CACHE_TTL_S + 2, "serve refusing the revoked token")
    again = cli("revoke", info["tokenUUID"])
    assert again.returncode == 1 and again.stderr.startswith("error: ") and again.stdout == ""
