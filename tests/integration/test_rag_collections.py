"""Collections, documents and search as LISA v6 answers them, through the api app as a real process: collections
with their own embedding model, chunking, groups and metadata; documents paged, downloaded and deleted; metadata
filters and hybrid search; LISA's shapes (presigned POST for a raw key, /bulk, RagDocument, IngestionJob); who may
do what (the matrix below), and the embedding model's own groups."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tests.fixtures.eventually import eventually
from tests.fixtures.rag import audit_since, audited

PG = "docs"  # the test stage's open pgvector repository (default collection: its first ingest's model, minilm)


@pytest.fixture(scope="module")
def api(api_server, as_user):
    def call(method: str, path: str, who: str = "alice", **kwargs) -> requests.Response:
        return as_user(who).request(method, f"{api_server}{path}", timeout=120, **kwargs)

    return call


def wait_done(api, document_id: str, who: str = "alice", repo: str = PG) -> dict:
    def done() -> dict | None:
        doc = api("GET", f"/repository/{repo}/{document_id}", who).json()
        return doc if doc["status"] in ("INGESTION_COMPLETED", "INGESTION_FAILED") else None

    return eventually(done, 60, f"document {document_id} ingested")


def upload(api, files: dict[str, bytes], who: str = "alice", repo: str = PG, **form) -> requests.Response:
    return api("POST", f"/repository/{repo}/document", who, files=[("file", (n, d)) for n, d in files.items()],
               data=form)


def ingest(api, files: dict[str, bytes], who: str = "alice", **form) -> list[dict]:
    response = upload(api, files, who, **form)
    assert response.status_code == 200, response.text
    return [wait_done(api, j["documentId"], who) for j in response.json()["jobs"]]


@pytest.fixture(scope="module")
def default_collection(api) -> str:
    """The repository's default collection (minilm), made by its first ingest if no test made it yet."""
    doc, = ingest(api, {"seed.txt": b"Seeds grow into plants."}, embeddingModel="minilm")
    return doc["collection_id"]


@pytest.fixture(scope="module")
def team_collection(api, default_collection) -> dict:
    """A collection of the group `team` with its own 16-d model, no chunking and metadata, made by a RAG admin."""
    response = api("POST", f"/repository/{PG}/collection", "ragadmin", json={
        "collectionId": "team-notes", "name": "Team notes", "embeddingModel": "embed-16",
        "chunkingStrategy": {"type": "none"}, "allowedGroups": ["team"],
        "metadata": {"tags": ["team"], "customFields": {"owner": "carol"}}})
    assert response.status_code == 200, response.text
    return response.json()


# Collections -------------------------------------------------------------------------------------------------------
def test_a_rag_admin_creates_a_collection_with_its_own_model_chunking_and_groups(team_collection):
    assert {k: team_collection[k] for k in ("collectionId", "repositoryId", "embeddingModel", "allowedGroups",
                                            "status")} == {
        "collectionId": "team-notes", "repositoryId": PG, "embeddingModel": "embed-16", "allowedGroups": ["team"],
        "status": "ACTIVE"}
    assert team_collection["chunkingStrategy"] == {"type": "none"}


def test_the_default_collection_is_the_repositorys_embedding_model(api, default_collection):
    assert default_collection == "minilm"
    listed = api("GET", f"/repository/{PG}/collection").json()
    default = next(c for c in listed["collections"] if c["collectionId"] == "minilm")
    assert default["default"] is True and default["embeddingModel"] == "minilm"


def test_members_see_and_use_a_groups_collection_others_do_not(api, team_collection):
    assert "team-notes" not in [c["collectionId"] for c in api("GET", f"/repository/{PG}/collection").json()["collections"]]
    assert api("GET", f"/repository/{PG}/collection/team-notes").status_code == 403
    assert api("GET", f"/repository/{PG}/collection/team-notes", "carol").status_code == 200
    doc, = ingest(api, {"standup.md": b"The standup is at nine every morning."}, "carol", collectionId="team-notes")
    try:
        assert (doc["collection_id"], doc["chunks"], doc["chunk_strategy"]["type"]) == ("team-notes", 1, "none")
        assert doc["metadata"] == {"tags": ["team"], "customFields": {"owner": "carol"}}  # the collection's
        hits = api("GET", f"/repository/{PG}/similaritySearch", "carol",
                   params={"query": "standup", "collectionId": "team-notes"}).json()["docs"]
        assert hits[0]["Document"]["metadata"]["documentName"] == "standup.md"
        assert api("GET", f"/repository/{PG}/similaritySearch", params={"query": "standup",
                                                                        "collectionId": "team-notes"}).status_code == 403
    finally:
        api("DELETE", f"/repository/{PG}/{doc['document_id']}", "carol")


@pytest.mark.parametrize("strategy", [{"type": "fixed", "size": 100, "overlap": 51},
                                      {"type": "fixed", "size": 99, "overlap": 0},
                                      {"type": "fixed", "size": 10_001, "overlap": 0}])
def test_a_collection_outside_lisas_chunking_bounds_is_a_422(api, strategy):
    response = api("POST", f"/repository/{PG}/collection", "ragadmin",
                   json={"name": "bad", "embeddingModel": "minilm", "chunkingStrategy": strategy})
    assert response.status_code == 422


def test_collections_page_like_lisa(api, default_collection):
    made = []
    for i in range(3):
        made.append(api("POST", f"/repository/{PG}/collection", "ragadmin",
                        json={"name": f"paged {i}", "embeddingModel": "minilm"}).json()["collectionId"])
    try:
        first = api("GET", f"/repository/{PG}/collection", "ragadmin",
                    params={"pageSize": 2, "filter": "paged", "sortBy": "name", "sortOrder": "asc"}).json()
        assert [c["name"] for c in first["collections"]] == ["paged 0", "paged 1"]
        assert (first["totalCount"], first["totalPages"], first["hasNextPage"], first["hasPreviousPage"]) == (3, 2, True, False)
        second = api("GET", f"/repository/{PG}/collection", "ragadmin",
                     params={"pageSize": 2, "page": 2, "filter": "paged", "sortBy": "name", "sortOrder": "asc"}).json()
        assert [c["name"] for c in second["collections"]] == ["paged 2"] and second["hasPreviousPage"]
        across = api("GET", "/repository/collections", "ragadmin", params={"filter": "paged", "pageSize": 100}).json()
        assert sorted(c["collectionId"] for c in across["collections"]) == sorted(made)
    finally:
        for collection_id in made:
            assert api("DELETE", f"/repository/{PG}/collection/{collection_id}", "ragadmin").status_code == 200
    assert api("GET", f"/repository/{PG}/collection/{made[0]}", "ragadmin").status_code == 404


def test_deleting_a_collection_removes_its_documents_and_vectors(api, default_collection):
    made = api("POST", f"/repository/{PG}/collection", "ragadmin",
               json={"name": "doomed", "embeddingModel": "minilm"}).json()["collectionId"]
    doc, = ingest(api, {"gone.txt": b"This text will vanish with its collection."}, collectionId=made)
    deleted = api("DELETE", f"/repository/{PG}/collection/{made}", "ragadmin").json()
    assert deleted == {"deleted": True, "collectionId": made, "documentsDeleted": 1}
    assert api("GET", f"/repository/{PG}/{doc['document_id']}").status_code == 404


# Who may do what: role x route ----------------------------------------------------------------------------------------
MATRIX = [
    # (route, who, status)
    ("create collection", "alice", 403), ("create collection", "ragadmin", 200), ("create collection", "admin", 200),
    ("update collection", "alice", 403), ("update collection", "ragadmin", 200),
    ("delete collection", "alice", 403), ("delete collection", "ragadmin", 200),
    ("create repository", "alice", 403), ("create repository", "ragadmin", 403),
    ("repository statuses", "alice", 403), ("repository statuses", "ragadmin", 403), ("repository statuses", "admin", 200),
    ("update pipelines", "alice", 403), ("update pipelines", "ragadmin", 200),
    ("update groups", "ragadmin", 403), ("update groups", "admin", 200),
    ("delete repository", "ragadmin", 403),
]


@pytest.mark.parametrize("route, who, status", MATRIX)
def test_access_matrix(api, default_collection, route, who, status):
    name = f"m-{uuid.uuid4().hex[:6]}"
    if route.endswith("collection") and route != "create collection":
        api("POST", f"/repository/{PG}/collection", "admin", json={"collectionId": name, "embeddingModel": "minilm"})
    calls = {
        "create collection": ("POST", f"/repository/{PG}/collection", {"collectionId": name, "embeddingModel": "minilm"}),
        "update collection": ("PUT", f"/repository/{PG}/collection/{name}", {"description": "changed"}),
        "delete collection": ("DELETE", f"/repository/{PG}/collection/{name}", None),
        "create repository": ("POST", "/repository?dryRun=true", {"repositoryId": name, "type": "pgvector"}),
        "repository statuses": ("GET", "/repository/status", None),
        "update pipelines": ("PUT", f"/repository/{PG}", {"pipelines": []}),
        "update groups": ("PUT", f"/repository/{PG}", {"metadata": {"tags": ["docs"]}}),
        "delete repository": ("DELETE", f"/repository/{PG}", None),
    }
    method, path, body = calls[route]
    response = api(method, path, who, json=body) if body is not None else api(method, path, who)
    assert response.status_code == status, response.text
    api("DELETE", f"/repository/{PG}/collection/{name}", "admin")


def test_an_embedding_model_of_other_groups_cannot_be_used_through_rag(api, default_collection):
    # The api embeds with the platform's key: it must check the caller's own right to the model first.
    made = api("POST", f"/repository/{PG}/collection", "admin",
               json={"collectionId": "team-model", "embeddingModel": "team-embed"})
    assert made.status_code == 200, made.text
    try:
        refused = upload(api, {"x.txt": b"Refused before any embedding."}, collectionId="team-model")
        assert refused.status_code == 403 and "team-embed" in refused.json()["message"]
        assert api("GET", f"/repository/{PG}/similaritySearch",
                   params={"query": "x", "collectionId": "team-model"}).status_code == 403
        assert api("POST", f"/repository/{PG}/collection", "ragadmin",
                   json={"name": "not mine", "embeddingModel": "team-embed"}).status_code == 403
        doc, = ingest(api, {"ok.txt": b"Carol may use the team model."}, "carol", collectionId="team-model")
        assert doc["status"] == "INGESTION_COMPLETED"
    finally:
        api("DELETE", f"/repository/{PG}/collection/team-model", "admin")


# Documents ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def five_documents(api, default_collection):
    docs = ingest(api, {f"page-{i}.txt": f"Document number {i} about paging.".encode() for i in range(5)})
    yield docs
    api("DELETE", f"/repository/{PG}/document", json={"documentIds": [d["document_id"] for d in docs]})


def test_documents_page_like_lisa(api, five_documents):
    seen, after, pages = [], {}, 0
    while True:
        page = api("GET", f"/repository/{PG}/document", params={"collectionId": "minilm", "pageSize": 2, **after}).json()
        pages += 1
        seen += [d["document_id"] for d in page["documents"]]
        assert page["hasPreviousPage"] == (pages > 1)
        if not page["hasNextPage"]:
            break
        last = page["lastEvaluated"]
        after = {"lastEvaluatedKeyPk": last["pk"], "lastEvaluatedKeyDocumentId": last["documentId"],
                 "lastEvaluatedKeyRepositoryId": last["repositoryId"]}
    assert page["totalDocuments"] == len(seen) == len(set(seen)) >= 5 and pages >= 3
    assert {d["document_id"] for d in five_documents} <= set(seen)


def test_a_document_is_lisas_rag_document_in_snake_case(five_documents):
    doc = five_documents[0]
    assert {"pk", "document_id", "repository_id", "collection_id", "document_name", "source", "username",
            "chunk_strategy", "ingestion_type", "upload_date", "chunks"} <= set(doc)
    assert doc["pk"] == f"{PG}#minilm" and doc["ingestion_type"] == "manual" and isinstance(doc["upload_date"], int)


def test_jobs_page_newest_first_with_lisas_ingestion_job(api, five_documents):
    first = api("GET", f"/repository/{PG}/jobs", params={"pageSize": 2}).json()
    assert len(first["jobs"]) == 2 and first["hasNextPage"] and not first["hasPreviousPage"]
    job = first["jobs"][0]
    assert {"id", "s3_path", "collection_id", "document_id", "repository_id", "chunk_strategy", "embedding_model",
            "username", "ingestion_type", "status", "created_date", "document_name", "auto", "metadata"} <= set(job)
    assert first["jobs"][0]["created_date"] >= first["jobs"][1]["created_date"]
    second = api("GET", f"/repository/{PG}/jobs",
                 params={"pageSize": 2, "lastEvaluatedKey": json.dumps(first["lastEvaluatedKey"])}).json()
    assert second["hasPreviousPage"] and not {j["id"] for j in second["jobs"]} & {j["id"] for j in first["jobs"]}
    assert api("GET", f"/repository/{PG}/jobs", "bob").json()["jobs"] == []  # others' jobs are not listed


def test_a_member_downloads_the_original_through_a_short_presigned_url(api, five_documents):
    doc = five_documents[0]
    url = api("GET", f"/repository/{PG}/{doc['document_id']}/download", "bob").json()  # any member, not only the owner
    expires = int(parse_qs(urlparse(url).query).get("Expires", ["0"])[0])
    assert 0 < expires - time.time() <= 300  # LISA's 300 s
    assert requests.get(url, timeout=10).content == b"Document number 0 about paging."


def test_a_non_member_may_not_download(api, team_collection):
    doc, = ingest(api, {"secret.md": b"Team only."}, "carol", collectionId="team-notes")
    try:
        assert api("GET", f"/repository/{PG}/{doc['document_id']}/download", "alice").status_code == 403
        assert api("GET", f"/repository/{PG}/{doc['document_id']}/download", "carol").status_code == 200
    finally:
        api("DELETE", f"/repository/{PG}/{doc['document_id']}", "carol")


def test_a_rag_admin_may_delete_anyones_document_a_user_may_not(api, default_collection, api_server, user_tokens):
    started = time.time() - 1
    doc, = ingest(api, {"mine.txt": b"Alice wrote this."})
    assert api("DELETE", f"/repository/{PG}/document", "bob", json={"documentIds": [doc["document_id"]]}).status_code == 403
    deleted = api("DELETE", f"/repository/{PG}/document", "ragadmin", json={"documentIds": [doc["document_id"]]})
    assert deleted.status_code == 200 and deleted.json()["jobs"][0]["status"] == "DELETE_COMPLETED"
    # the RAG admin deleting another user's document is an admin action: audited
    event = audited(api_server, user_tokens["admin"], "document.delete", PG, started)
    assert (event["actorId"], event["actorName"], event["outcome"]) == ("ragadmin-id", "librarian", "success")
    assert event["details"] == {"documentIds": [doc["document_id"]]}
    assert all(token not in audit_since(api_server, user_tokens["admin"], started) for token in user_tokens.values())


def test_collection_changes_are_audited_with_who_what_and_outcome(api, default_collection, api_server, user_tokens):
    started = time.time() - 1
    name = f"audited-{uuid.uuid4().hex[:6]}"
    assert api("POST", f"/repository/{PG}/collection", "ragadmin",
               json={"collectionId": name, "embeddingModel": "minilm"}).status_code == 200
    assert api("PUT", f"/repository/{PG}/collection/{name}", "ragadmin", json={"description": "audited"}).status_code == 200
    assert api("DELETE", f"/repository/{PG}/collection/{name}", "alice").status_code == 403
    assert api("DELETE", f"/repository/{PG}/collection/{name}", "ragadmin").status_code == 200
    admin = user_tokens["admin"]
    events = {action: audited(api_server, admin, action, f"{PG}/{name}", started)
              for action in ("collection.create", "collection.update", "collection.delete")}
    for action, event in events.items():
        assert (event["actorId"], event["actorName"], event["outcome"]) == ("ragadmin-id", "librarian", "success"), action
        assert event["sourceIp"] == "127.0.0.1", action
    assert events["collection.create"]["details"] == {"embeddingModel": "minilm"}
    assert events["collection.update"]["details"] == {"changes": ["description"]}
    refused = audited(api_server, admin, "authz.refused", f"DELETE /repository/{PG}/collection/{name}", started)
    assert (refused["actorName"], refused["outcome"]) == ("alice", "denied")
    assert all(token not in audit_since(api_server, admin, started) for token in user_tokens.values())


# Search ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tagged(api, default_collection):
    docs = [ingest(api, {name: text}, metadata=json.dumps(metadata))[0] for name, text, metadata in (
        ("invoices.md", b"Invoices are paid within thirty days.", {"tags": ["finance"], "customFields": {"year": 2024}}),
        ("receipts.md", b"Expense reports need a receipt.", {"tags": ["finance"], "customFields": {"year": 2023}}),
        ("badges.md", b"Badges open the office doors.", {"tags": ["security"]}))]
    yield docs
    api("DELETE", f"/repository/{PG}/document", json={"documentIds": [d["document_id"] for d in docs]})


def names(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["Document"]["metadata"]["documentName"] for d in response.json()["docs"]]


def test_search_hits_carry_the_documents_metadata(api, tagged):
    hit = api("GET", f"/repository/{PG}/similaritySearch", params={"query": "paying invoices", "topK": 1}).json()
    assert hit["docs"][0]["Document"]["metadata"]["tags"] == ["finance"]
    assert hit["docs"][0]["Document"]["metadata"]["customFields"] == {"year": 2024}


@pytest.mark.parametrize("search_filter, expected", [
    ({"tags": ["finance"]}, {"invoices.md", "receipts.md"}),
    ({"tags": ["finance"], "customFields": {"year": 2023}}, {"receipts.md"}),
    ({"tags": ["nothing"]}, set()),
])
def test_a_metadata_filter_restricts_search_by_get_and_post(api, tagged, search_filter, expected):
    by_get = api("GET", f"/repository/{PG}/similaritySearch",
                 params={"query": "office doors", "topK": 10, "filter": json.dumps(search_filter)})
    by_post = api("POST", f"/repository/{PG}/similaritySearch",
                  json={"query": "office doors", "topK": 10, "filter": search_filter})
    assert set(names(by_get)) == set(names(by_post)) == expected


def test_hybrid_search_is_chosen_per_request(api, tagged):
    hybrid = api("GET", f"/repository/{PG}/similaritySearch",
                 params={"query": "receipt", "topK": 3, "searchType": "hybrid"})
    assert names(hybrid)[0] == "receipts.md"
    assert all(d["Document"]["metadata"]["similarity_score"] < 0.05 for d in hybrid.json()["docs"])  # fused ranks


def test_a_bad_filter_is_a_422(api, tagged):
    response = api("GET", f"/repository/{PG}/similaritySearch", params={"query": "x", "filter": '{"colour": "red"}'})
    assert response.status_code == 422 and "filter" in response.json()["message"]


# LISA's upload shapes ----------------------------------------------------------------------------------------------
def test_a_raw_key_presigned_post_and_bulk_answer_as_lisa(api, default_collection):
    key = f"reports/{uuid.uuid4().hex[:8]}/q3.txt"
    presigned = api("POST", "/repository/presigned-url", data=key, headers={"content-type": "text/plain"}).json()
    assert set(presigned) == {"response"} and set(presigned["response"]) == {"url", "fields"}
    posted = requests.post(presigned["response"]["url"], data=presigned["response"]["fields"], timeout=10,
                           files={"file": ("q3.txt", b"Third quarter revenue grew by ten percent.")})
    assert posted.status_code in (200, 204)
    accepted = api("POST", f"/repository/{PG}/bulk", json={"keys": [key], "metadata": {"tags": ["quarterly"]}}).json()
    assert set(accepted) >= {"jobs", "collectionId", "collectionName"} and accepted["collectionId"] == "minilm"
    job, = accepted["jobs"]
    assert set(job) >= {"jobId", "documentId", "status", "s3Path"}
    doc = wait_done(api, job["documentId"])
    try:
        assert doc["status"] == "INGESTION_COMPLETED" and doc["metadata"]["tags"] == ["quarterly"]
    finally:
        api("DELETE", f"/repository/{PG}/{job['documentId']}")


def test_a_presigned_post_expires_and_bounds_its_size(api, default_collection):
    """The upload form S3 checks carries its own expiry (the settings' presigned_url_expiry_s, an hour by default)
    and the document size limit: an upload is not an open door."""
    before = datetime.now(timezone.utc)
    fields = api("POST", "/repository/presigned-url", data=f"t/{uuid.uuid4().hex[:8]}.txt").json()["response"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert timedelta(minutes=59) <= expires - before <= timedelta(minutes=61)
    size, = [c for c in policy["conditions"] if isinstance(c, list) and c[0] == "content-length-range"]
    assert size[1] == 1 and 0 < size[2] < 64 << 20


def test_another_users_raw_key_is_not_theirs(api, default_collection):
    key = f"private/{uuid.uuid4().hex[:8]}.txt"
    presigned = api("POST", "/repository/presigned-url", data=key).json()["response"]
    requests.post(presigned["url"], data=presigned["fields"], timeout=10, files={"file": ("p.txt", b"Alice's.")})
    # Bob naming the same key names his own (empty) folder: nothing of Alice's is read.
    assert api("POST", f"/repository/{PG}/bulk", "bob", json={"keys": [key]}).status_code == 404
