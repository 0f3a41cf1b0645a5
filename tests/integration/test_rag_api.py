"""The /repository routes of the api app as a real process: ingest by multipart and by presigned upload, jobs,
similarity search, RAG chat with sources (plain and streamed, with openai-python), deletes that leave nothing, and
every bad input of the issue answered with a 4xx, nothing stored, the repository still searchable. What reaches the
vector store runs on a pgvector repository and on an OpenSearch one (a real node); the rest on pgvector."""

from __future__ import annotations


import openai
import psycopg
import pytest
import requests

from core import aws
from providers.rag_store_schema import table_name
from services.rag.stores.opensearch import local_client
from tests.fixtures.eventually import eventually
from tests.unit.test_rag_parsing import pdf_bytes, zip_bomb_docx

PG, OS = "docs", "docs-os"  # the test stage's open pgvector and OpenSearch repositories
only_pgvector = pytest.mark.parametrize("repo", [PG], indirect=True)  # checks before any store is touched
CORPUS = {
    "plants.md": b"Photosynthesis lets green plants turn sunlight, water and carbon dioxide into glucose and oxygen.",
    "network.txt": b"A TCP connection starts with a three-way handshake: SYN, then SYN-ACK, then ACK.",
    "bread.txt": b"To bake sourdough bread, mix flour, water and salt with a starter and let it ferment overnight.",
}


@pytest.fixture(scope="module")
def api(api_server, as_user):
    def call(method: str, path: str, who: str = "alice", **kwargs) -> requests.Response:
        return as_user(who).request(method, f"{api_server}{path}", timeout=120, **kwargs)

    return call


@pytest.fixture(scope="module", params=[PG, OS])
def repo(request) -> str:
    return request.param


def wait_done(api, repo: str, document_id: str, who: str = "alice", timeout: float = 60.0) -> dict:
    seen: dict = {}

    def done() -> dict | None:
        seen.clear()
        seen.update(api("GET", f"/repository/{repo}/{document_id}", who).json())
        return seen if seen["status"] in ("INGESTION_COMPLETED", "INGESTION_FAILED") else None

    return eventually(done, timeout, lambda: f"document {document_id} ingested (still {seen.get('status')})")


def upload(api, repo: str, files: dict[str, bytes], who: str = "alice", **form):
    return api("POST", f"/repository/{repo}/document", who, files=[("file", (n, d)) for n, d in files.items()],
               data={"embeddingModel": "minilm", **form})


@pytest.fixture(scope="module")
def stored_chunks(pg_dsn, opensearch_url):
    """How many chunks a repository's store holds, read straight from the database or the node."""
    with psycopg.connect(pg_dsn, autocommit=True) as pg, local_client(opensearch_url) as node:
        def count(repo: str) -> int:
            if repo == OS:  # every collection's index
                node.indices.refresh(index=f"rag-{repo}-*", allow_no_indices=True)
                return node.count(index=f"rag-{repo}-*", allow_no_indices=True)["count"]
            table = table_name(repo)
            if not pg.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]:
                return 0
            return pg.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

        yield count


def state(api, stored_chunks, platform, repo: str) -> tuple[int, int, int]:
    """Chunks in the store, documents listed, objects in the RAG bucket."""
    outputs, _ = platform
    rows = stored_chunks(repo)
    listed = api("GET", f"/repository/{repo}/document").json()["totalDocuments"]
    objects = aws.client("s3").list_objects_v2(Bucket=outputs.buckets.rag_documents).get("KeyCount", 0)
    return rows, listed, objects


@pytest.fixture(scope="module")
def corpus(api, repo):
    jobs = upload(api, repo, CORPUS).json()["jobs"]
    docs = {d["document_name"]: d for d in (wait_done(api, repo, j["documentId"]) for j in jobs)}
    yield docs
    for doc in docs.values():
        api("DELETE", f"/repository/{repo}/{doc['document_id']}")


def search(api, repo: str, query: str, top_k: int = 3, **params) -> requests.Response:
    return api("GET", f"/repository/{repo}/similaritySearch", params={"query": query, "topK": top_k, **params})


# Repositories ------------------------------------------------------------------------------------------------------
def test_users_see_the_repositories_they_may_use(api):
    assert [r["repositoryId"] for r in api("GET", "/repository").json()] == [PG, OS]
    assert {r["repositoryId"]: r["type"] for r in api("GET", "/repository", "admin").json()} == {
        PG: "pgvector", OS: "opensearch", "search": "opensearch"}


def test_a_repository_of_other_groups_is_forbidden(api):
    response = api("GET", "/repository/search/similaritySearch", params={"query": "x"})
    assert response.status_code == 403 and response.json()["error"] == "PermissionDeniedError"


def test_a_repository_reports_the_model_its_vectors_come_from(api, repo, corpus):
    described = api("GET", f"/repository/{repo}").json()
    assert (described["embeddingModel"], described["dimension"], described["chunkSize"]) == ("minilm", 384, 512)


# Ingest and search -------------------------------------------------------------------------------------------------
def test_an_upload_becomes_a_completed_job_with_every_chunk_embedded(api, repo, corpus):
    jobs = {j["document_id"]: j for j in api("GET", f"/repository/{repo}/jobs").json()["jobs"]}
    for doc in corpus.values():
        job = jobs[doc["document_id"]]
        assert job["status"] == "INGESTION_COMPLETED" and job["chunks_embedded"] == job["chunks"] == 1


def test_similarity_search_finds_the_answering_document(api, repo, corpus):
    docs = search(api, repo, "how do plants make sugar from light?").json()["docs"]
    top = docs[0]["Document"]
    assert top["metadata"]["documentName"] == "plants.md" and top["page_content"].startswith("Photosynthesis")
    assert top["metadata"]["similarity_score"] > docs[1]["Document"]["metadata"]["similarity_score"]


@only_pgvector
def test_a_documents_text_can_be_read_for_the_chat(api, repo, corpus):
    doc = corpus["bread.txt"]
    text = api("GET", f"/repository/{repo}/{doc['document_id']}/text").json()
    assert text["text"] == CORPUS["bread.txt"].decode() and (text["fileName"], text["truncated"]) == ("bread.txt", False)
    assert api("GET", f"/repository/{repo}/{doc['document_id']}/text", "bob").status_code == 200  # an open repository
    assert api("GET", f"/repository/{repo}/no-such-document/text").status_code == 404


@only_pgvector
def test_similarity_search_by_post_takes_long_queries(api, repo, corpus):
    query = "sourdough starter fermentation " * 200
    docs = api("POST", f"/repository/{repo}/similaritySearch", json={"query": query, "topK": 1}).json()["docs"]
    assert docs[0]["Document"]["metadata"]["documentName"] == "bread.txt"


@only_pgvector
def test_uploads_through_a_presigned_url_are_ingested(api, repo):
    presigned = api("POST", "/repository/presigned-url", json={"fileName": "tides.txt"}).json()
    posted = requests.post(presigned["url"], data=presigned["fields"], timeout=10,
                           files={"file": ("tides.txt", b"Tides rise and fall with the pull of the moon.")})
    assert posted.status_code in (200, 204)
    job, = api("POST", f"/repository/{repo}/bulk", json={"keys": [presigned["key"]],
                                                         "embeddingModel": {"modelName": "minilm"}}).json()["jobs"]
    try:
        assert wait_done(api, repo, job["documentId"])["status"] == "INGESTION_COMPLETED"
    finally:
        api("DELETE", f"/repository/{repo}/{job['documentId']}")


def test_delete_removes_vectors_object_and_record(api, repo, stored_chunks, platform):
    before = state(api, stored_chunks, platform, repo)
    job, = upload(api, repo, {"deleteme.txt": b"Owls hunt at night. " * 100}, chunkSize="200",
                  chunkOverlap="20").json()["jobs"]
    assert wait_done(api, repo, job["documentId"])["chunks"] > 1
    deleted = api("DELETE", f"/repository/{repo}/{job['documentId']}").json()
    assert deleted["documentIds"] == [job["documentId"]] and deleted["recordsPurged"] > 1
    assert state(api, stored_chunks, platform, repo) == before
    assert api("GET", f"/repository/{repo}/{job['documentId']}").status_code == 404
    assert deleted["jobs"][0]["status"] == "DELETE_COMPLETED"


@only_pgvector
def test_another_user_may_not_delete_my_document(api, repo, corpus):
    response = api("DELETE", f"/repository/{repo}/document", "bob", json={"documentIds": [corpus["bread.txt"]["document_id"]]})
    assert response.status_code == 403
    assert api("GET", f"/repository/{repo}/{corpus['bread.txt']['document_id']}").status_code == 200


# RAG in chat -------------------------------------------------------------------------------------------------------
def test_rag_chat_answers_with_the_sources_it_used(api, repo, corpus, stand_in_stats):
    answer = api("POST", f"/repository/{repo}/chat/completions", json={
        "model": "rag-chat", "topK": 2, "messages": [{"role": "user", "content": "How do plants make sugar?"}]}).json()
    assert answer["choices"][0]["message"]["content"] == "Echo: How do plants make sugar?"
    assert answer["sources"][0]["documentName"] == "plants.md" and answer["sources"][0]["index"] == 1
    assert len(answer["sources"]) == 2 and answer["sources"][0]["score"] > answer["sources"][1]["score"]
    prompt = stand_in_stats()["last_request"]["body"]["messages"]
    assert [m["role"] for m in prompt] == ["user"] and "[1] (plants.md)\nPhotosynthesis" in prompt[0]["content"]


@only_pgvector
def test_rag_chat_streams_with_openai_python_and_cites_in_the_first_chunk(api_server, user_tokens, corpus, repo):
    client = openai.OpenAI(base_url=f"{api_server}/repository/{repo}", api_key=user_tokens["alice"], max_retries=0)
    stream = client.chat.completions.create(model="rag-chat", stream=True, extra_body={"topK": 1},
                                            messages=[{"role": "user", "content": "What is the TCP handshake?"}])
    chunks = list(stream)
    assert chunks[0].model_extra["sources"][0]["documentName"] == "network.txt"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: What is the TCP handshake?"


@only_pgvector
def test_rag_chat_with_an_unknown_model_passes_on_the_404(api, repo, corpus):
    response = api("POST", f"/repository/{repo}/chat/completions",
                   json={"model": "no-such-chat", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 404 and response.json()["error"] == "ModelError"


@only_pgvector
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("field", ["api_base", "base_url", "aws_bedrock_runtime_endpoint"])
def test_rag_chat_refuses_fields_off_the_allow_list_before_anything_leaves(api, repo, corpus, trap, stand_in_stats,
                                                                          field, stream):
    before = stand_in_stats()["requests"]
    response = api("POST", f"/repository/{repo}/chat/completions", json={
        "model": "rag-chat", "stream": stream, field: trap.url,
        "messages": [{"role": "user", "content": "How do plants make sugar?"}]})
    assert response.status_code == 400 and response.json()["error"] == "InvalidInputError"
    assert field in response.json()["message"]
    assert trap.hits == [] and stand_in_stats()["requests"] == before + 1


@only_pgvector
def test_rag_chat_needs_a_user_question(api, repo, corpus):
    response = api("POST", f"/repository/{repo}/chat/completions",
                   json={"model": "rag-chat", "messages": [{"role": "system", "content": "only a system prompt"}]})
    assert response.status_code == 400


# Bad input ---------------------------------------------------------------------------------------------------------
BAD_UPLOADS = {
    "empty file": ("empty.txt", b"", 400),
    # M4 ingest bombs: more text than a document may have; a DOCX that would unpack past the limit.
    "20 M characters of text": ("huge.txt", b"a" * 20_000_001, 400),
    "zip bomb docx": ("bomb.docx", zip_bomb_docx(201), 400),
    "encrypted pdf": ("locked.pdf", pdf_bytes(["secret"], password="pw"), 400),
    "corrupted pdf": ("broken.pdf", b"%PDF-1.7\n" + b"\x13\x37garbage" * 100, 400),
    "unsupported type": ("program.exe", b"MZ\x90\x00", 415),
    "zero chunks": ("blank.md", b"\n\n   \n", 400),
}


def still_searchable(api, repo: str) -> bool:
    top = search(api, repo, "sourdough bread", 1).json()["docs"][0]["Document"]
    return top["metadata"]["documentName"] == "bread.txt"


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
@only_pgvector
def test_bad_uploads_are_4xx_and_store_nothing(api, repo, stored_chunks, platform, corpus, case):
    name, data, status = BAD_UPLOADS[case]
    before = state(api, stored_chunks, platform, repo)
    response = upload(api, repo, {name: data})
    assert response.status_code == status and response.json()["message"]
    assert state(api, stored_chunks, platform, repo) == before and still_searchable(api, repo)


@pytest.mark.parametrize("size, overlap", [("100", "99"), ("99", "0"), ("10001", "0")])
@only_pgvector
def test_chunking_outside_lisas_bounds_is_a_422_and_stores_nothing(api, repo, stored_chunks, platform, corpus, size,
                                                                   overlap):
    before = state(api, stored_chunks, platform, repo)
    response = upload(api, repo, {"owls.txt": b"Owls hunt at night. " * 5000}, chunkSize=size, chunkOverlap=overlap)
    assert response.status_code == 422 and "chunk" in response.json()["message"]
    assert state(api, stored_chunks, platform, repo) == before


def presigned_upload(api, name: str, data: bytes) -> str:
    presigned = api("POST", "/repository/presigned-url", json={"fileName": name}).json()
    posted = requests.post(presigned["url"], data=presigned["fields"], timeout=10, files={"file": (name, data)})
    assert posted.status_code in (200, 204)
    return presigned["key"]


def uploaded(platform, key: str) -> bool:
    outputs, _ = platform
    return "Contents" in aws.client("s3").list_objects_v2(Bucket=outputs.buckets.rag_documents, Prefix=key)


@pytest.mark.parametrize("target, body, status", [
    ("nope", {"embeddingModel": {"modelName": "minilm"}}, 404),
    (PG, {"embeddingModel": {"modelName": "no-such-model"}}, 400),
])
def test_an_ingest_refused_for_an_unknown_repository_or_model_deletes_the_upload(api, platform, target, body, status):
    key = presigned_upload(api, "orphan.txt", b"Nobody will ever ingest this text.")
    assert uploaded(platform, key)
    response = api("POST", f"/repository/{target}/bulk", json={"keys": [key], **body})
    assert response.status_code == status
    assert not uploaded(platform, key)


@only_pgvector
def test_a_50_mib_upload_is_a_413_and_stores_nothing(api, repo, stored_chunks, platform, corpus):
    before = state(api, stored_chunks, platform, repo)
    response = upload(api, repo, {"big.txt": b"a" * (50 * 1024 * 1024)})
    assert response.status_code == 413 and "smaller than" in response.json()["message"]
    assert state(api, stored_chunks, platform, repo) == before and still_searchable(api, repo)


@only_pgvector
def test_an_unknown_repository_is_a_404(api, repo, corpus):
    assert api("POST", "/repository/nope/document", files={"file": ("a.txt", b"text")}).status_code == 404
    assert api("GET", "/repository/nope/similaritySearch", params={"query": "x"}).status_code == 404


@only_pgvector
def test_an_unknown_embedding_model_is_a_400_and_stores_nothing(api, repo, stored_chunks, platform, corpus):
    before = state(api, stored_chunks, platform, repo)
    response = upload(api, repo, {"a.txt": b"some text"}, embeddingModel="no-such-model")
    assert response.status_code == 400 and "holds vectors of minilm" in response.json()["message"]
    assert search(api, repo, "x", modelName="no-such-model").status_code == 400
    assert state(api, stored_chunks, platform, repo) == before and still_searchable(api, repo)


def test_another_embedding_model_than_the_collections_is_a_400(api, repo, stored_chunks, platform, corpus):
    before = state(api, stored_chunks, platform, repo)
    response = upload(api, repo, {"a.txt": b"some text"}, embeddingModel="embed-16")
    assert response.status_code == 400 and "holds vectors of minilm" in response.json()["message"]
    assert state(api, stored_chunks, platform, repo) == before and still_searchable(api, repo)


@pytest.mark.parametrize("top_k", ["0", "101", "many"])
@only_pgvector
def test_top_k_out_of_range_is_a_422(api, repo, corpus, top_k):
    response = search(api, repo, "bread", top_k)
    assert response.status_code == 422 and "topK" in response.json()["message"]


@pytest.mark.parametrize("params, field", [({"searchType": "fuzzy"}, "searchType"),
                                           ({"collectionId": "c" * 129}, "collectionId"),
                                           ({"filter": "{not json"}, "filter")])
@only_pgvector
def test_a_search_parameter_that_breaks_its_rule_is_a_422_naming_it_and_a_stranger_learns_nothing(
        api, api_server, repo, corpus, params, field):
    response = search(api, repo, "bread", **params)
    assert response.status_code == 422 and field in response.json()["message"]
    stranger = requests.get(f"{api_server}/repository/{repo}/similaritySearch", params={"query": "x", **params},
                            timeout=10)
    assert stranger.status_code == 401


@pytest.mark.parametrize("length", [0, 100_000])
@only_pgvector
def test_a_query_of_0_or_100k_characters_is_a_422(api, repo, corpus, length):
    response = api("POST", f"/repository/{repo}/similaritySearch", json={"query": "q" * length})
    assert response.status_code == 422 and "query" in response.json()["message"]
    assert still_searchable(api, repo)


@only_pgvector
def test_an_empty_query_by_get_is_a_422(api, repo, corpus):
    response = api("GET", f"/repository/{repo}/similaritySearch", params={"query": ""})
    assert response.status_code == 422 and "empty" in response.json()["message"]


@only_pgvector
def test_a_100k_query_by_get_is_refused_by_the_http_layer(api, repo, corpus):
    # A request line that long never reaches the app (uvicorn refuses it; an ALB answers 414): POST is the way.
    response = api("GET", f"/repository/{repo}/similaritySearch", params={"query": "q" * 100_000})
    assert 400 <= response.status_code < 500 and response.text
    assert still_searchable(api, repo)


def test_no_credentials_is_a_401(api_server):
    assert requests.get(f"{api_server}/repository", timeout=10).status_code == 401
