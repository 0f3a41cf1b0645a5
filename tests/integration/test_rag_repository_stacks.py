"""Repositories made at runtime, each a Pulumi stack of its own deployed by the api's engine with the real CLI: its
store made (the pgvector table with the default collection's HNSW index, or the OpenSearch index), previewed with
?dryRun=true, used, and destroyed with everything in it."""

from __future__ import annotations

import time

import psycopg
import pytest
import requests

from providers.rag_store_schema import hnsw_index_name, index_name, table_name
from services.rag.stores.opensearch import local_client
from tests.fixtures.eventually import eventually
from tests.fixtures.rag import audit_since, audited


@pytest.fixture(scope="module")
def api(api_server, as_user):
    def call(method: str, path: str, who: str = "admin", **kwargs) -> requests.Response:
        return as_user(who).request(method, f"{api_server}{path}", timeout=180, **kwargs)

    return call


def described(api, repository_id: str) -> dict | None:
    response = api("GET", f"/repository/{repository_id}")
    return None if response.status_code == 404 else response.json()


def status_of(api, repository_id: str) -> str | None:
    repository = described(api, repository_id)
    return repository and repository["status"]


def wait_status(api, repository_id: str, wanted: str | None) -> None:
    """Until the repository has `wanted` (None: gone); waiting for a *_COMPLETE, a failure it settles in instead ends
    the wait with its reason."""
    seen: list[dict | None] = []

    def reached() -> bool:
        seen[:] = [described(api, repository_id)]
        status = seen[0] and seen[0]["status"]
        assert not (wanted or "").endswith("_COMPLETE") or not (status or "").endswith("_FAILED"), (
            f"repository {repository_id} settled in {status}, not {wanted}: {seen[0].get('statusReason')}")
        return status == wanted

    eventually(reached, 240, lambda: f"repository {repository_id} {wanted} (still {seen and seen[0]})", ignore=(
        requests.RequestException, ValueError))


def pg_objects(pg_dsn: str, repository_id: str) -> tuple[bool, bool]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        table = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table_name(repository_id),)).fetchone()[0]
        index = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                             (hnsw_index_name(repository_id, "minilm"),)).fetchone()[0]
    return table, index


def test_a_preview_says_what_the_stack_would_make_and_writes_nothing(api):
    response = api("POST", "/repository", params={"dryRun": "true"},
                   json={"repositoryId": "preview-pg", "type": "pgvector", "embeddingModelId": "minilm"})
    assert response.status_code == 200, response.text
    steps = response.json()["preview"]["steps"]
    assert [(s["op"], s["type"]) for s in steps] == [("create", "pulumi-python:dynamic/lisa:PgVectorRepositoryTable")]
    assert status_of(api, "preview-pg") is None


def test_a_preview_with_an_unknown_embedding_model_is_a_400_not_a_crash(api):
    # The program probes the model before the preview makes the stack; cleaning up the stack that was never made
    # raised StackNotFoundError: a 500 (found by the api fuzz).
    response = api("POST", "/repository", params={"dryRun": "true"},
                   json={"repositoryId": "preview-nomodel", "type": "pgvector", "embeddingModelId": "no-such-model"})
    assert response.status_code == 400, response.text
    assert "no-such-model" in response.json()["message"]
    assert status_of(api, "preview-nomodel") is None


def test_a_pgvector_repository_is_created_used_and_destroyed_as_a_stack(api, pg_dsn, api_server, user_tokens):
    started = time.time() - 1
    created = api("POST", "/repository", json={
        "repositoryId": "runtime-pg", "repositoryName": "Runtime", "type": "pgvector", "embeddingModelId": "minilm",
        "allowedGroups": [], "metadata": {"tags": ["runtime"]}, "chunkingStrategy": {"type": "fixed", "size": 300,
                                                                                   "overlap": 30}})
    assert created.status_code == 200, created.text
    assert created.json()["repository"]["status"] == "CREATE_IN_PROGRESS"
    wait_status(api, "runtime-pg", "CREATE_COMPLETE")
    assert pg_objects(pg_dsn, "runtime-pg") == (True, True)
    assert api("GET", "/repository/status").json()["runtime-pg"] == "CREATE_COMPLETE"

    job, = api("POST", "/repository/runtime-pg/document", "alice",
               files={"file": ("moon.txt", b"The moon pulls the tides twice a day.")}).json()["jobs"]
    eventually(lambda: api("GET", f"/repository/runtime-pg/{job['documentId']}", "alice").json()["status"]
               == "INGESTION_COMPLETED", 60, "the document ingested")
    hits = api("GET", "/repository/runtime-pg/similaritySearch", "alice", params={"query": "tides"}).json()["docs"]
    assert hits[0]["Document"]["metadata"]["documentName"] == "moon.txt"

    assert api("DELETE", "/repository/runtime-pg", "alice").status_code == 403
    assert api("DELETE", "/repository/runtime-pg").status_code == 200
    wait_status(api, "runtime-pg", None)
    assert pg_objects(pg_dsn, "runtime-pg") == (False, False)
    assert api("GET", f"/repository/runtime-pg/{job['documentId']}", "alice").status_code == 404

    admin = user_tokens["admin"]
    for action in ("repository.create", "repository.delete"):
        event = audited(api_server, admin, action, "runtime-pg", started)
        assert (event["actorId"], event["actorName"], event["outcome"]) == ("admin-id", "root", "success"), action
    assert audited(api_server, admin, "repository.create", "runtime-pg", started)["details"] == {"type": "pgvector"}
    refused = audited(api_server, admin, "authz.refused", "DELETE /repository/runtime-pg", started)
    assert (refused["actorName"], refused["outcome"]) == ("alice", "denied")
    assert all(token not in audit_since(api_server, admin, started) for token in user_tokens.values())


def test_an_opensearch_repository_is_an_index_in_the_node_and_goes_with_its_stack(api, opensearch_url):
    created = api("POST", "/repository", json={"repositoryId": "runtime-os", "type": "opensearch",
                                              "embeddingModelId": "minilm"})
    assert created.status_code == 200, created.text
    wait_status(api, "runtime-os", "CREATE_COMPLETE")
    with local_client(opensearch_url) as node:
        index = index_name("runtime-os", "minilm")
        mapping = node.indices.get_mapping(index=index)[index]["mappings"]
        assert mapping["properties"]["embedding"]["dimension"] == 384
        assert api("DELETE", "/repository/runtime-os").status_code == 200
        wait_status(api, "runtime-os", None)
        assert not node.indices.exists(index=index)


def test_an_unknown_embedding_model_fails_the_create_with_the_reason(api):
    assert api("POST", "/repository", json={"repositoryId": "runtime-bad", "type": "pgvector",
                                            "embeddingModelId": "no-such-model"}).status_code == 200
    wait_status(api, "runtime-bad", "CREATE_FAILED")
    assert "no-such-model" in api("GET", "/repository/runtime-bad").json()["statusReason"]
    assert api("DELETE", "/repository/runtime-bad").status_code == 200
    wait_status(api, "runtime-bad", None)


def test_a_repository_id_that_exists_is_a_409_and_bad_ids_a_422(api):
    assert api("POST", "/repository", json={"repositoryId": "docs", "type": "pgvector"}).status_code == 409
    for bad in ("ab", "-lead", "UPPER", "x" * 21):
        assert api("POST", "/repository", json={"repositoryId": bad, "type": "pgvector"}).status_code == 422


def test_stage_repositories_cannot_be_deleted_through_the_api(api):
    response = api("DELETE", "/repository/docs")
    assert response.status_code == 400 and "stage config" in response.json()["message"]
