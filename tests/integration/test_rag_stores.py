"""Both vector stores against their real servers, with real MiniLM vectors: pgvector on the embedded PostgreSQL and
OpenSearch on a real 2.19.1 node with the k-NN plugin (Lucene engine, HNSW, cosine). The behaviour every store owes
(ingest, k-NN search, filtered k-NN search, deletes, failed writes that leave nothing) runs on each; then what is
OpenSearch's own (the index mapping, unrefreshed chunks, the node's refusals)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from services.rag.errors import EmbeddingModelError, GatewayError, StoreUnavailableError
from services.rag.stores.base import ChunkFilter, ChunkRecord
from services.rag.stores.opensearch import OpenSearchStore, local_client
from services.rag.stores.pgvector import PgVectorStore, open_pool

TEXTS = ["The Eiffel Tower is in Paris.", "Penguins live in Antarctica.", "Python is a programming language."]
_names = (f"store-{i}" for i in itertools.count())


def chunks(document_id: str, texts: list[str], name: str | None = None) -> list[ChunkRecord]:
    return [ChunkRecord(document_id, name or f"{document_id}.txt", f"s3://b/{document_id}.txt", i, t, page=i + 1)
            for i, t in enumerate(texts)]


@pytest.fixture(scope="module")
def client(opensearch_url):
    client = local_client(opensearch_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def pool(pg_dsn):
    pool = open_pool(pg_dsn, 2, ef_search=128)
    yield pool
    pool.close()


@pytest.fixture
def os_store(client):
    """An OpenSearch store on a fresh index of its own, deleted afterwards."""
    s = OpenSearchStore(next(_names), client)
    yield s
    client.indices.delete(index=s.index, ignore_unavailable=True)


@pytest.fixture(params=["pgvector", "opensearch"])
def store(request):
    """Each store on a fresh table/index of its own, removed afterwards."""
    if request.param == "opensearch":
        yield request.getfixturevalue("os_store")
        return
    s = PgVectorStore(next(_names), request.getfixturevalue("pool"))
    yield s
    drop_repository(s)


def drop_repository(store: PgVectorStore) -> None:
    from providers.rag_store_schema import drop_table_sql

    with store.pool.connection() as conn:
        for statement in drop_table_sql(store.repository_id):
            conn.execute(statement)


def fill(store, minilm):
    store.prepare(384, "minilm")
    with store.writer("doc") as writer:
        writer.add(chunks("doc", TEXTS), minilm.embed(TEXTS).vectors)
    return store


@pytest.fixture
def filled(store, minilm):
    return fill(store, minilm)


@pytest.fixture
def os_filled(os_store, minilm):
    return fill(os_store, minilm)


def embed(minilm, text: str) -> np.ndarray:
    return minilm.embed([text]).vectors[0]


# Every store ---------------------------------------------------------------------------------------------------------
def test_the_dimension_is_fixed_by_the_first_prepare(filled):
    assert (filled.info().dimension, filled.info().embedding_model) == (384, "minilm")
    with pytest.raises(EmbeddingModelError, match="384"):
        filled.prepare(16, "embed-16")


def test_an_absent_store_searches_and_counts_as_empty(store, minilm):
    assert store.info() is None and store.search(embed(minilm, "anything"), 3) == [] and store.count() == 0
    assert store.delete_document("nothing") == 0


def test_a_finished_document_is_searchable_with_every_chunk(filled):
    assert filled.count() == filled.count("doc") == 3


def test_search_returns_the_closest_chunk_with_its_cosine(filled, minilm):
    vector = embed(minilm, "Which birds live at the South Pole?")
    hits = filled.search(vector, 3)
    expected = float(embed(minilm, TEXTS[1]) @ vector)
    assert hits[0].chunk == chunks("doc", TEXTS)[1]
    assert hits[0].score == pytest.approx(expected, abs=1e-4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_search_returns_at_most_top_k(filled, minilm):
    assert len(filled.search(embed(minilm, "anything"), 2)) == 2


def test_chunks_are_invisible_until_the_document_is_written(store, minilm):
    store.prepare(384, "minilm")
    with store.writer("late") as writer:
        writer.add(chunks("late", TEXTS[:1]), minilm.embed(TEXTS[:1]).vectors)
        assert store.count() == 0 and store.search(embed(minilm, TEXTS[0]), 1) == []
    assert store.count() == 1


def test_delete_removes_exactly_the_documents_chunks(filled, minilm):
    with filled.writer("other") as writer:
        writer.add(chunks("other", ["Something else entirely."]), minilm.embed(["Something else entirely."]).vectors)
    assert filled.delete_document("doc") == 3
    assert (filled.count("doc"), filled.count()) == (0, 1)
    assert {h.chunk.document_id for h in filled.search(embed(minilm, "Paris"), 5)} == {"other"}


def test_a_failed_write_leaves_nothing(filled, minilm):
    with pytest.raises(RuntimeError):
        with filled.writer("half") as writer:
            writer.add(chunks("half", ["First part."]), minilm.embed(["First part."]).vectors)
            raise RuntimeError("the embedding model failed mid-way")
    assert filled.count("half") == 0 and filled.count() == 3


@pytest.fixture
def library(store, minilm):
    """Six documents of two chunks each; every first chunk is about water."""
    topics = {"rivers": "Rivers carry water to the sea.", "rain": "Rain is water falling from clouds.",
              "tea": "Tea is brewed with hot water.", "ice": "Ice is frozen water.",
              "sea": "The sea is salt water.", "wells": "Wells draw water from the ground."}
    store.prepare(384, "minilm")
    for name, text in topics.items():
        texts = [text, f"More about {name}."]
        with store.writer(name) as writer:
            writer.add(chunks(name, texts, name=f"{name}.md"), minilm.embed(texts).vectors)
    return store


def test_a_filtered_search_returns_only_matching_documents_best_first(library, minilm):
    vector = embed(minilm, "frozen water")
    hits = library.search(vector, 3, ChunkFilter(document_ids=frozenset({"tea", "wells"})))
    assert {h.chunk.document_id for h in hits} == {"tea", "wells"} and len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert library.search(vector, 1)[0].chunk.document_id == "ice"  # the unfiltered best is filtered out above


def test_a_filtered_search_still_fills_top_k_when_few_chunks_match(library, minilm):
    hits = library.search(embed(minilm, "water"), 10, ChunkFilter(document_ids=frozenset({"rain"})))
    assert sorted(h.chunk.chunk_index for h in hits) == [0, 1]


def test_filter_conditions_combine_with_and(library, minilm):
    both = ChunkFilter(document_ids=frozenset({"tea", "sea"}), document_names=frozenset({"sea.md", "ice.md"}))
    assert {h.chunk.document_id for h in library.search(embed(minilm, "water"), 10, both)} == {"sea"}


def test_a_filter_nothing_matches_returns_nothing(library, minilm):
    assert library.search(embed(minilm, "water"), 5, ChunkFilter(document_ids=frozenset({"none"}))) == []


def test_an_empty_filter_restricts_nothing(library, minilm):
    vector = embed(minilm, "water")
    assert library.search(vector, 12, ChunkFilter()) == library.search(vector, 12)


@pytest.fixture
def tagged(store, minilm):
    """Three documents with metadata: tags and custom fields."""
    store.prepare(384, "minilm")
    documents = {"alpha": ("Invoices are paid within thirty days.", {"tags": ["finance", "policy"],
                                                                     "customFields": {"team": "billing", "year": 2024}}),
                 "beta": ("Expense reports need a receipt.", {"tags": ["finance"], "customFields": {"team": "hr"}}),
                 "gamma": ("Badges open the office doors.", {"tags": ["security"], "customFields": {"year": 2024}})}
    for document_id, (text, metadata) in documents.items():
        records = [ChunkRecord(document_id, f"{document_id}.md", f"s3://b/{document_id}", 0, text, metadata=metadata)]
        with store.writer(document_id) as writer:
            writer.add(records, minilm.embed([text]).vectors)
    return store


def test_hits_carry_their_documents_metadata(tagged, minilm):
    hit, = tagged.search(embed(minilm, "paying invoices"), 1)
    assert hit.chunk.metadata == {"tags": ["finance", "policy"], "customFields": {"team": "billing", "year": 2024}}


@pytest.mark.parametrize("chunk_filter, expected", [
    (ChunkFilter(tags=frozenset({"finance"})), {"alpha", "beta"}),
    (ChunkFilter(tags=frozenset({"finance", "policy"})), {"alpha"}),
    (ChunkFilter(fields=(("year", 2024),)), {"alpha", "gamma"}),
    (ChunkFilter(tags=frozenset({"finance"}), fields=(("team", "hr"),)), {"beta"}),
    (ChunkFilter(fields=(("team", "nobody"),)), set()),
])
def test_a_metadata_filter_admits_only_matching_documents(tagged, minilm, chunk_filter, expected):
    hits = tagged.search(embed(minilm, "office doors"), 10, chunk_filter)
    assert {h.chunk.document_id for h in hits} == expected


def test_hybrid_search_finds_a_rare_word_vector_search_ranks_low(library, minilm):
    # "Wells" matters to full text; the vector of a vague query prefers other water chunks.
    vector = embed(minilm, "water")
    hybrid = library.search(vector, 3, text="wells")
    assert hybrid[0].chunk.document_id == "wells"
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)


def test_hybrid_search_keeps_the_filter(library, minilm):
    hits = library.search(embed(minilm, "water"), 5, ChunkFilter(document_ids=frozenset({"tea"})), text="wells")
    assert {h.chunk.document_id for h in hits} == {"tea"}


def test_collections_of_one_repository_keep_their_own_dimension_and_chunks(store, minilm, request):
    store.prepare(384, "minilm")
    with store.writer("d") as writer:
        writer.add(chunks("d", TEXTS), minilm.embed(TEXTS).vectors)
    kind = type(store)
    other = kind(store.repository_id, store.pool if kind is PgVectorStore else store.client, collection_id="small")
    try:
        other.prepare(16, "embed-16")
        with other.writer("e") as writer:
            writer.add(chunks("e", TEXTS[:1]), np.ones((1, 16), dtype=np.float32))
        assert (store.count(), other.count()) == (3, 1)
        assert other.search(np.ones(16, dtype=np.float32), 5)[0].chunk.document_id == "e"
        assert {h.chunk.document_id for h in store.search(embed(minilm, "Paris"), 5)} == {"d"}
    finally:
        other.drop()
    assert store.count() == 3 and other.info() is None


def test_a_dropped_collection_leaves_nothing(filled, minilm):
    filled.drop()
    assert filled.info() is None and filled.search(embed(minilm, "Paris"), 3) == []


# OpenSearch's own ----------------------------------------------------------------------------------------------------
def test_the_index_has_a_lucene_hnsw_cosine_knn_vector(os_store, client):
    os_store.prepare(384, "minilm")
    mapping = client.indices.get_mapping(index=os_store.index)[os_store.index]["mappings"]
    vector = mapping["properties"]["embedding"]
    assert vector["type"] == "knn_vector" and vector["dimension"] == 384
    assert vector["method"] == {"name": "hnsw", "space_type": "cosinesimil", "engine": "lucene",
                                "parameters": {"m": 16, "ef_construction": 128}}
    assert client.indices.get_settings(index=os_store.index)[os_store.index]["settings"]["index"]["knn"] == "true"


def test_document_fields_are_keywords_for_exact_filtering(os_store, client):
    os_store.prepare(384, "minilm")
    properties = client.indices.get_mapping(index=os_store.index)[os_store.index]["mappings"]["properties"]
    assert properties["documentId"] == {"type": "keyword"} and properties["documentName"] == {"type": "keyword"}
    assert properties["page"] == {"type": "integer"} and properties["text"] == {"type": "text"}
    assert properties["metadata"]["properties"]["tags"] == {"type": "keyword"}


def test_the_dimension_is_read_back_from_the_index_mapping(os_filled, client):
    fresh = OpenSearchStore(os_filled.repository_id, client)
    assert (fresh.info().dimension, fresh.info().embedding_model) == (384, "minilm")


def test_two_stores_preparing_the_same_index_agree(os_store, client):
    other = OpenSearchStore(os_store.repository_id, client)
    os_store.prepare(384, "minilm")
    assert other.prepare(384, "minilm").dimension == 384


def test_a_failed_write_stays_gone_after_a_later_refresh(os_filled, minilm):
    with pytest.raises(RuntimeError):
        with os_filled.writer("half") as writer:
            writer.add(chunks("half", ["First part."]), minilm.embed(["First part."]).vectors)
            raise RuntimeError("the embedding model failed mid-way")
    os_filled.client.indices.refresh(index=os_filled.index)
    assert os_filled.count("half") == 0 and os_filled.count() == 3


def test_delete_finds_chunks_a_crashed_writer_left_unrefreshed(os_filled, minilm):
    writer = os_filled.writer("crashed").__enter__()  # a process dying here never refreshes nor cleans up
    writer.add(chunks("crashed", TEXTS[:2]), minilm.embed(TEXTS[:2]).vectors)
    assert os_filled.delete_document("crashed") == 2
    assert os_filled.count("crashed") == 0 and os_filled.count() == 3


def test_bulk_item_errors_fail_the_write_with_the_nodes_reason(os_filled):
    with pytest.raises(GatewayError, match="mapper_parsing_exception.*dimension") as caught:
        with os_filled.writer("bad") as writer:
            writer.add(chunks("bad", ["x"]), np.ones((1, 16), dtype=np.float32))
    assert caught.value.message.startswith("OpenSearch refused chunks")
    assert os_filled.count("bad") == 0


def test_a_node_that_cannot_be_reached_is_store_unavailable():
    from services.local.ports import free_port

    store = OpenSearchStore("gone", local_client(f"http://127.0.0.1:{free_port()}", max_retries=0))
    with pytest.raises(StoreUnavailableError):
        store.info()
