"""M1: a rotated master key replaces the old one on serve and on the api within TTL + grace, and RAG (the api
calling serve with the master key) keeps working throughout. Serve, the api and the secret are this test's own,
so the session's master key stays as it is for every other test."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from core import secrets
from tests.fixtures import processes
from tests.fixtures.serve import wait_routable

TTL_S, GRACE_S = 1.0, 1.5  # the grace above the TTL, as in production: peers re-read at different times
SLACK_S = 4.0  # a loaded machine: request latency and the two processes' timers
AUTH_ENV = {"LISA_AUTH_MASTER_KEY_TTL_S": str(TTL_S), "LISA_AUTH_MASTER_KEY_GRACE_S": str(GRACE_S)}


@pytest.fixture(scope="module")
def rotating(platform, rag_models, pg_dsn, test_output):
    """(secret name, serve URL, api URL) of a serve and an api whose master key is a secret of this test's own."""
    outputs, _ = platform
    name = f"lisa-test/rotating-master-key-{uuid.uuid4().hex[:8]}"
    arn = secrets.put(name, "sk-rotation-key-one-0000")
    own = outputs.model_copy(update={"master_key_secret_id": arn}).model_dump_json()
    with processes.serve_app(own, log=test_output / "rotation-serve.log", env=AUTH_ENV) as (serve, _):
        wait_routable(serve, [rag_models["embedding"]], "sk-rotation-key-one-0000")
        env = {"LISA_PLATFORM": own, "LISA_RAG_SERVE_URL": serve, "LISA_RAG_PG_DSN": pg_dsn, **AUTH_ENV,
               **processes.engine_env(test_output / "rotation-api-model-stacks", LISA_ENGINE_RESUME_ON_START="false")}
        with processes.api_app(env, log=test_output / "rotation-api.log") as (api, _):
            yield name, serve, api


def _serve_status(serve: str, key: str) -> int:
    return requests.get(f"{serve}/v2/serve/models", headers={"authorization": f"Bearer {key}"}, timeout=10).status_code


def _api_status(api: str, key: str) -> int:
    return requests.get(f"{api}/models", headers={"authorization": f"Bearer {key}"}, timeout=10).status_code


def _rag_search(api: str, token: str, model: str) -> int:
    """A similarity search embeds the query through serve with the api's master key."""
    return requests.get(f"{api}/repository/docs/similaritySearch", params={"query": "sunlight", "modelName": model},
                        headers={"authorization": f"Bearer {token}"}, timeout=30).status_code


def test_a_rotated_master_key_replaces_the_old_one_everywhere_and_rag_keeps_working(rotating, user_tokens,
                                                                                       rag_models):
    name, serve, api = rotating
    old, new = "sk-rotation-key-one-0000", "sk-rotation-key-two-0000"
    alice, model = user_tokens["alice"], rag_models["embedding"]
    assert (_serve_status(serve, old), _api_status(api, old), _rag_search(api, alice, model)) == (200, 200, 200)

    secrets.put(name, new)
    rotated = time.monotonic()
    searches = []
    while _serve_status(serve, old) != 401 or _api_status(api, old) != 401:
        searches.append(_rag_search(api, alice, model))
        assert time.monotonic() - rotated < TTL_S + GRACE_S + SLACK_S, "the old master key still works"

    assert (_serve_status(serve, new), _api_status(api, new)) == (200, 200)
    assert (_serve_status(serve, old), _api_status(api, old)) == (401, 401)
    searches.append(_rag_search(api, alice, model))
    assert set(searches) == {200}, f"RAG failed during the rotation: {searches}"
