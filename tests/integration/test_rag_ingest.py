"""RAG end to end below HTTP: the RAG service in this process, embedding with the local MiniLM server through the real
serve gateway, documents and originals in the emulated AWS. What reaches the vector store runs on a pgvector repository
(the embedded Postgres) and on an OpenSearch one (a real node); checks made before any store is touched on pgvector."""

from __future__ import annotations


import pytest

from core import aws
from core.errors import NotFoundError, PermissionDeniedError, ValidationError
from services.rag.documents import IngestionStatus
from services.rag.errors import DocumentTooLargeError, EmbeddingModelError, UnreadableDocumentError, UnsupportedDocumentError
from core.rag import CollectionConfig, FixedChunking
from services.identity.principal import Principal
from services.rag.service import IngestOptions
from tests.fixtures.eventually import eventually
from tests.unit.test_rag_parsing import pdf_bytes

ALICE = Principal(id="alice-id", username="alice", groups=(), is_admin=False, method="token")
BOB = Principal(id="bob-id", username="bob", groups=(), is_admin=False, method="token")
ADMIN = Principal(id="admin-id", username="root", groups=("lisa-admins",), is_admin=True, method="token",
                  is_rag_admin=True)


def opts(model: str | None = "minilm", chunk_size: int | None = None, chunk_overlap: int = 0,
         collection_id: str | None = None) -> IngestOptions:
    strategy = FixedChunking(size=chunk_size, overlap=chunk_overlap) if chunk_size else None
    return IngestOptions(collection_id=collection_id, model=model, strategy=strategy)
PG, OS = "docs", "docs-os"  # the test stage's open pgvector and OpenSearch repositories
only_pgvector = pytest.mark.parametrize("repo", [PG], indirect=True)


@pytest.fixture(scope="module", params=[PG, OS])
def repo(request) -> str:
    return request.param

TOPICS = {
    "plants.md": "Photosynthesis lets green plants turn sunlight, water and carbon dioxide into glucose and oxygen. "
                 "Chlorophyll in the leaves absorbs the light energy.",
    "network.txt": "A TCP connection starts with a three-way handshake: the client sends SYN, the server answers "
                   "SYN-ACK, and the client confirms with ACK before any data flows.",
    "bread.txt": "To bake sourdough bread, mix flour, water and salt with an active starter, let the dough ferment "
                 "overnight, shape it, and bake it in a very hot oven.",
}


def wait_status(service, record, timeout: float = 60.0):
    """The record once its ingest ended (None when it is gone)."""
    seen: list = []

    def ended() -> list | None:
        seen[:] = [service.table.get(record.repository_id, record.document_id)]
        current = seen[0]
        return seen if current is None or current.status in (IngestionStatus.COMPLETED, IngestionStatus.FAILED) else None

    return eventually(ended, timeout, lambda: f"document {record.document_id} ingested (still {seen[0].status})")[0]


def ingest(service, repo: str, files: dict[str, bytes], who=ALICE, **kwargs):
    records = service.ingest_files(who, repo, list(files.items()), opts(**kwargs))[1]
    return [wait_status(service, r) for r in records]


def bucket_keys(service) -> set[str]:
    listing = aws.client("s3").list_objects_v2(Bucket=service.bucket)
    return {o["Key"] for o in listing.get("Contents", [])}


def store_of(service, repo: str, collection: str = "minilm"):
    return service.catalog.store(service.catalog.find(repo), collection)


def snapshot(service, repo: str) -> tuple[int, int, set[str]]:
    """Rows in the repository's default store, document records, and objects in the RAG bucket."""
    return store_of(service, repo).count(), len(service.table.list(repo)), bucket_keys(service)


@pytest.fixture(scope="module")
def corpus(rag_service, repo):
    records = ingest(rag_service, repo, {name: text.encode() for name, text in TOPICS.items()})
    yield {r.document_name: r for r in records}
    rag_service.delete_documents(ALICE, repo, [r.document_id for r in records])


def test_ingest_completes_with_every_chunk_written(rag_service, repo, corpus):
    store = store_of(rag_service, repo)
    for record in corpus.values():
        assert record.status is IngestionStatus.COMPLETED, record.error
        assert record.chunks_embedded == record.chunks == store.count(record.document_id) == 1


def test_search_ranks_the_document_that_answers_first(rag_service, repo, corpus):
    hits = rag_service.search(ALICE, repo, "how do plants make sugar from light?", 3)
    assert hits[0].chunk.document_name == "plants.md"
    assert hits[0].score > hits[1].score


def test_search_results_carry_document_metadata(rag_service, repo, corpus):
    hit = rag_service.search(ALICE, repo, "SYN ACK handshake", 1)[0]
    record = corpus["network.txt"]
    assert (hit.chunk.document_id, hit.chunk.source, hit.chunk.chunk_index) == (record.document_id, record.source, 0)


def test_pdf_chunks_know_their_page(rag_service, repo):
    guide = pdf_bytes(["Introduction to knitting scarves", "Casting on stitches"])
    record, = ingest(rag_service, repo, {"guide.pdf": guide})
    try:
        hits = rag_service.search(ALICE, repo, "casting on stitches", 1)
        assert (hits[0].chunk.document_id, hits[0].chunk.page) == (record.document_id, 2)
    finally:
        rag_service.delete_documents(ALICE, repo, [record.document_id])


def test_ingest_then_delete_leaves_nothing_behind(rag_service, repo):
    before = snapshot(rag_service, repo)
    record, = ingest(rag_service, repo, {"notes.md": ("Lighthouses guide ships. " * 200).encode()}, chunk_size=200,
                     chunk_overlap=20)
    assert record.status is IngestionStatus.COMPLETED and record.chunks > 1
    result = rag_service.delete_documents(ALICE, repo, [record.document_id])
    assert result[1] == record.chunks
    assert snapshot(rag_service, repo) == before


@only_pgvector
def test_only_the_uploader_or_an_admin_may_delete_a_document(rag_service, repo, corpus):
    with pytest.raises(PermissionDeniedError):
        rag_service.delete_documents(BOB, repo, [corpus["bread.txt"].document_id])
    assert rag_service.document(ALICE, repo, corpus["bread.txt"].document_id) is not None


def test_a_failed_ingest_leaves_no_chunk_in_the_store(rag_service, repo, short_input_model):
    # The first chunk is short enough for the model; a later batch is not, so the job fails part-way.
    text = "Short opening line.\n\n" + "\n\n".join("word " * 78 for _ in range(80))
    collection = f"short-{repo}"
    if rag_service.catalog.find_collection(rag_service.catalog.find(repo), collection) is None:
        rag_service.create_collection(ADMIN, repo, CollectionConfig(collection_id=collection,
                                                                     embedding_model=short_input_model))
    records = rag_service.ingest_files(ALICE, repo, [("long.txt", text.encode())],
                                       opts(short_input_model, 400, 0, collection_id=collection))[1]
    record = wait_status(rag_service, records[0])
    try:
        store = store_of(rag_service, repo, collection)
        assert record.status is IngestionStatus.FAILED and "input" in record.error
        assert store.count(record.document_id) == 0
    finally:
        rag_service.delete_documents(ALICE, repo, [record.document_id])


def test_deleting_a_document_mid_ingest_leaves_nothing(rag_service, repo):
    before = snapshot(rag_service, repo)
    text = "\n\n".join(f"Paragraph {i} is about the history of clocks and timekeeping. " * 4 for i in range(300))
    record, = rag_service.ingest_files(ALICE, repo, [("clocks.txt", text.encode())], opts("minilm"))[1]
    rag_service.delete_documents(ALICE, repo, [record.document_id])
    rag_service.jobs.wait(record.document_id, 60)
    assert snapshot(rag_service, repo) == before


def orphan(rag_service, repo: str, text: bytes):
    """A document whose job died mid-way: unfinished, no chunks, its last heartbeat as the record says."""
    record, = ingest(rag_service, repo, {"resume.txt": text})
    store_of(rag_service, repo).delete_document(record.document_id)
    rag_service.table.update(record, status=IngestionStatus.IN_PROGRESS, chunks_embedded=0)
    return rag_service.table.get(repo, record.document_id)


def test_an_orphaned_job_resumes_from_the_stored_original(rag_service, repo):
    record = orphan(rag_service, repo, b"Glaciers carve valleys over thousands of years.")
    try:
        assert rag_service.resume(stale_after_s=0) == 1
        assert wait_status(rag_service, record).status is IngestionStatus.COMPLETED
        assert store_of(rag_service, repo).count(record.document_id) == 1
    finally:
        rag_service.delete_documents(ALICE, repo, [record.document_id])


@only_pgvector
def test_a_job_with_a_recent_heartbeat_is_left_to_its_process(rag_service, repo):
    record = orphan(rag_service, repo, b"Rivers deliver sediment to deltas.")
    try:
        assert rag_service.resume(stale_after_s=3600) == 0
    finally:
        rag_service.delete_documents(ALICE, repo, [record.document_id])


@only_pgvector
def test_only_one_process_claims_an_orphan(rag_service, repo):
    record = orphan(rag_service, repo, b"Comets grow tails near the sun.")
    try:
        assert rag_service.table.claim(record) is True
        assert rag_service.table.claim(record) is False  # the heartbeat it saw has moved on
    finally:
        rag_service.delete_documents(ALICE, repo, [record.document_id])


@only_pgvector
def test_uploads_through_a_presigned_post_are_ingested(rag_service, repo):
    import requests

    upload = rag_service.presigned_upload(ALICE, "volcano.txt")
    text = b"Volcanoes erupt when magma rises through the crust."
    posted = requests.post(upload["url"], data=upload["fields"], files={"file": ("volcano.txt", text)}, timeout=10)
    assert posted.status_code in (200, 204), posted.text
    record, = rag_service.ingest_uploads(ALICE, repo, [upload["key"]], opts("minilm"))[1]
    try:
        assert wait_status(rag_service, record).status is IngestionStatus.COMPLETED
        assert upload["key"] not in bucket_keys(rag_service)  # moved under the document, not left in uploads/
    finally:
        rag_service.delete_documents(ALICE, repo, [record.document_id])


@only_pgvector
def test_another_users_upload_cannot_be_ingested(rag_service, repo):
    upload = rag_service.presigned_upload(ALICE, "mine.txt")
    with pytest.raises(PermissionDeniedError):
        rag_service.ingest_uploads(BOB, repo, [upload["key"]], opts("minilm"))[1]


# Bad input: a clear error, nothing stored, the repository still searchable. --------------------------------------
BAD_FILES = {
    "empty file": ("empty.txt", b"", UnreadableDocumentError),
    "encrypted pdf": ("locked.pdf", pdf_bytes(["secret"], password="pw"), UnreadableDocumentError),
    "corrupted pdf": ("broken.pdf", b"%PDF-1.7\n" + b"\x13\x37garbage" * 100, UnreadableDocumentError),
    "unsupported type": ("program.exe", b"MZ\x90\x00", UnsupportedDocumentError),
    "zero chunks": ("blank.md", b"\n\n   \n\t\n", UnreadableDocumentError),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
@only_pgvector
def test_bad_files_are_refused_and_store_nothing(rag_service, repo, corpus, case):
    name, data, error = BAD_FILES[case]
    before = snapshot(rag_service, repo)
    with pytest.raises(error) as caught:
        rag_service.ingest_files(ALICE, repo, [(name, data)], opts("minilm"))[1]
    assert 400 <= caught.value.status < 500 and caught.value.message
    assert snapshot(rag_service, repo) == before
    assert rag_service.search(ALICE, repo, "sourdough", 1)[0].chunk.document_name == "bread.txt"


@only_pgvector
def test_a_50_mib_file_is_refused_as_too_large(rag_service, repo, corpus):
    before = snapshot(rag_service, repo)
    with pytest.raises(DocumentTooLargeError) as caught:
        rag_service.ingest_files(ALICE, repo, [("big.txt", b"a" * (50 * 1024 * 1024))], opts("minilm"))[1]
    assert caught.value.status == 413
    assert snapshot(rag_service, repo) == before


@only_pgvector
def test_one_bad_file_refuses_the_whole_request(rag_service, repo, corpus):
    before = snapshot(rag_service, repo)
    with pytest.raises(UnreadableDocumentError):
        rag_service.ingest_files(ALICE, repo, [("fine.txt", b"Fine text."), ("empty.txt", b"")], opts("minilm"))[1]
    assert snapshot(rag_service, repo) == before


def test_unknown_repository_is_not_found(rag_service):
    with pytest.raises(NotFoundError):
        rag_service.ingest_files(ALICE, "nope", [("a.txt", b"text")], opts("minilm"))[1]


def test_a_repository_of_other_groups_is_forbidden(rag_service):
    with pytest.raises(PermissionDeniedError):
        rag_service.search(ALICE, "search", "anything", 3)


@only_pgvector
def test_unknown_embedding_model_is_refused(rag_service, repo, corpus):
    before = snapshot(rag_service, repo)
    with pytest.raises(EmbeddingModelError, match="holds vectors of minilm"):
        rag_service.ingest_files(ALICE, repo, [("a.txt", b"some text")], opts("no-such-model"))[1]
    with pytest.raises(EmbeddingModelError):
        rag_service.search(ALICE, repo, "some text", 3, model="no-such-model")
    assert snapshot(rag_service, repo) == before


def test_a_collection_refuses_another_embedding_model(rag_service, repo, corpus):
    # Collections embed with one model (its vectors would not compare); another model needs another collection.
    before = snapshot(rag_service, repo)
    with pytest.raises(EmbeddingModelError, match="holds vectors of minilm"):
        rag_service.ingest_files(ALICE, repo, [("a.txt", b"some text")], opts("embed-16"))[1]
    with pytest.raises(EmbeddingModelError, match="holds vectors of minilm"):
        rag_service.search(ALICE, repo, "some text", 3, model="embed-16")
    assert snapshot(rag_service, repo) == before


@pytest.mark.parametrize("top_k", [0, -1, 101])
@only_pgvector
def test_top_k_out_of_range_is_refused(rag_service, repo, corpus, top_k):
    with pytest.raises(ValidationError, match="topK"):
        rag_service.search(ALICE, repo, "bread", top_k)


@pytest.mark.parametrize("query", ["", "   ", "x" * 100_000])
@only_pgvector
def test_empty_or_huge_queries_are_refused(rag_service, repo, corpus, query):
    with pytest.raises(ValidationError, match="query"):
        rag_service.search(ALICE, repo, query, 3)
    assert rag_service.search(ALICE, repo, "sourdough", 1)[0].chunk.document_name == "bread.txt"


@pytest.fixture(scope="module")
def short_input_model(platform, rag_gateway, test_output) -> str:
    """An embedding model that refuses inputs over 100 characters (the local server with a low limit)."""
    from core.models import ModelType
    from tests.fixtures.rag import register_model, run_embedding_server
    from tests.fixtures.serve import wait_routable
    from tests.fixtures.stage import TEST_MASTER_KEY

    outputs, _ = platform
    with run_embedding_server(test_output / "embedding-server-short.log", max_input_chars="100") as base:
        register_model(outputs, "minilm-short", "all-minilm-l6-v2", f"{base}/v1", ModelType.EMBEDDING)
        wait_routable(rag_gateway, ["minilm-short"], TEST_MASTER_KEY)
        yield "minilm-short"
