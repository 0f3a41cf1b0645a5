"""The OpenSearch store at the request level: the k-NN mapping, bulk bodies, k-NN queries and deletes it sends, run
against an in-memory emulation of OpenSearch's HTTP API (tests/fixtures/opensearch.py) with real MiniLM vectors."""

import numpy as np
import pytest

from services.rag.errors import EmbeddingModelError, GatewayError
from services.rag.stores.base import ChunkRecord
from services.rag.stores.opensearch import OpenSearchStore, cosine_from_score
from tests.fixtures.opensearch import emulated_opensearch

TEXTS = ["The Eiffel Tower is in Paris.", "Penguins live in Antarctica.", "Python is a programming language."]


def chunks(document_id: str, texts: list[str]) -> list[ChunkRecord]:
    return [ChunkRecord(document_id, f"{document_id}.txt", f"s3://b/{document_id}.txt", i, t, page=None)
            for i, t in enumerate(texts)]


@pytest.fixture
def store():
    client, state = emulated_opensearch()
    return OpenSearchStore("search", client, m=16, ef_construction=128, ef_search=100), state


@pytest.fixture
def filled(store, minilm):
    s, state = store
    s.prepare(384, "minilm")
    with s.writer("doc") as writer:
        writer.add(chunks("doc", TEXTS), minilm.embed(TEXTS).vectors)
    return s, state


def test_the_index_is_created_with_a_knn_vector_mapping(store):
    s, state = store
    s.prepare(384, "minilm")
    create = next(r for r in state.requests if r.method == "PUT")
    vector = create.body["mappings"]["properties"]["embedding"]
    assert create.path == "/rag-search"
    assert vector == {"type": "knn_vector", "dimension": 384, "method": {
        "name": "hnsw", "space_type": "cosinesimil", "engine": "lucene", "parameters": {"m": 16, "ef_construction": 128}}}
    assert create.body["settings"]["index"]["knn"] is True
    assert create.body["mappings"]["_meta"] == {"dimension": 384, "embeddingModel": "minilm"}


def test_document_fields_are_keywords_for_exact_filtering(store):
    s, state = store
    s.prepare(384, "minilm")
    properties = next(r for r in state.requests if r.method == "PUT").body["mappings"]["properties"]
    assert properties["documentId"] == {"type": "keyword"} and properties["page"] == {"type": "integer"}


def test_chunks_are_sent_in_one_bulk_request_per_batch_with_stable_ids(filled):
    _, state = filled
    bulk, = [r for r in state.requests if r.path.endswith("/_bulk")]
    actions, docs = bulk.body[::2], bulk.body[1::2]
    assert [a["index"]["_id"] for a in actions] == ["doc:0", "doc:1", "doc:2"]
    assert docs[1]["text"] == TEXTS[1] and len(docs[1]["embedding"]) == 384


def test_a_finished_document_is_refreshed_into_view(filled):
    s, state = filled
    assert state.requests[-1].path == "/rag-search/_refresh"
    assert s.count() == 3


def test_the_knn_query_asks_for_top_k_without_vectors_back(filled, minilm):
    s, state = filled
    s.search(minilm.embed(["penguins"]).vectors[0], 2)
    query = state.requests[-1]
    assert query.path == "/rag-search/_search"
    assert query.body["size"] == 2 and query.body["query"]["knn"]["embedding"]["k"] == 2
    assert query.body["_source"] == {"excludes": ["embedding"]}


def test_search_returns_the_closest_chunk_with_its_cosine(filled, minilm):
    s, _ = filled
    vector = minilm.embed(["Which birds live at the South Pole?"]).vectors[0]
    hit = s.search(vector, 1)[0]
    expected = float(minilm.embed([TEXTS[1]]).vectors[0] @ vector)
    assert hit.chunk.text == TEXTS[1] and hit.score == pytest.approx(expected, abs=1e-5)


def test_lucene_scores_convert_back_to_cosine():
    assert cosine_from_score(1.0) == 1.0 and cosine_from_score(0.5) == 0.0


def test_delete_removes_exactly_the_documents_chunks(filled, minilm):
    s, state = filled
    with s.writer("other") as writer:
        writer.add(chunks("other", ["Something else entirely."]), minilm.embed(["Something else entirely."]).vectors)
    assert s.delete_document("doc") == 3
    assert state.requests[-1].body == {"query": {"term": {"documentId": "doc"}}}
    assert (s.count("doc"), s.count()) == (0, 1)


def test_a_failed_write_deletes_what_it_had_sent(filled, minilm):
    s, _ = filled
    with pytest.raises(RuntimeError):
        with s.writer("half") as writer:
            writer.add(chunks("half", ["First part."]), minilm.embed(["First part."]).vectors)
            raise RuntimeError("the embedding model failed mid-way")
    assert s.count("half") == 0


def test_bulk_item_errors_fail_the_write(filled):
    s, _ = filled
    with pytest.raises(GatewayError, match="mapper_parsing_exception"):
        with s.writer("bad") as writer:
            writer.add(chunks("bad", ["x"]), np.ones((1, 16), dtype=np.float32))
    assert s.count("bad") == 0


def test_another_dimension_is_refused_once_the_index_exists(filled):
    s, _ = filled
    with pytest.raises(EmbeddingModelError, match="384"):
        s.prepare(16, "embed-16")


def test_the_dimension_is_read_back_from_the_index_mapping(filled):
    s, state = filled
    fresh = OpenSearchStore("search", s.client)
    assert fresh.info().dimension == 384 and fresh.info().embedding_model == "minilm"


def test_an_absent_index_searches_as_empty(store, minilm):
    s, _ = store
    assert s.search(minilm.embed(["anything"]).vectors[0], 3) == [] and s.count() == 0


def test_the_aws_client_signs_requests_with_the_platforms_credentials(monkeypatch):
    from opensearchpy import AWSV4SignerAuth

    from core import aws
    from services.rag.stores.opensearch import opensearch_client

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    aws.reset()
    try:
        client = opensearch_client("search-domain.us-east-1.es.amazonaws.com", "us-east-1")
        auth = client.transport.kwargs["http_auth"]
        assert isinstance(auth, AWSV4SignerAuth) and auth.service == "es" and auth.signer.region == "us-east-1"
        assert auth.signer.credentials.access_key == "AKIDEXAMPLE"
        assert client.transport.hosts[0]["host"] == "search-domain.us-east-1.es.amazonaws.com"
    finally:
        aws.reset()
