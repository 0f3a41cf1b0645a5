"""OpenSearch store: one k-NN index per repository (`knn_vector`, HNSW on Lucene, cosine), bulk ingest, k-NN query.

The index refreshes only when told (`refresh_interval: -1`): a document's chunks become searchable together when its
ingest ends, and a failed ingest is deleted before anyone could have seen part of it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import orjson
from opensearchpy import OpenSearch, RequestsHttpConnection
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import NotFoundError, RequestError, TransportError

from services.rag.errors import GatewayError, StoreUnavailableError
from services.rag.stores.base import ChunkRecord, DocumentWriter, Hit, StoreInfo, VectorStore, check_dimension


def index_name(repository_id: str) -> str:
    return f"rag-{repository_id}"


def index_body(dimension: int, embedding_model: str, *, m: int = 16, ef_construction: int = 128,
               ef_search: int = 100) -> dict[str, Any]:
    return {
        "settings": {"index": {"knn": True, "knn.algo_param.ef_search": ef_search, "refresh_interval": "-1"}},
        "mappings": {
            "_meta": {"dimension": dimension, "embeddingModel": embedding_model},
            "properties": {
                "embedding": {"type": "knn_vector", "dimension": dimension, "method": {
                    "name": "hnsw", "space_type": "cosinesimil", "engine": "lucene",
                    "parameters": {"m": m, "ef_construction": ef_construction}}},
                "documentId": {"type": "keyword"},
                "documentName": {"type": "keyword"},
                "source": {"type": "keyword"},
                "page": {"type": "integer"},
                "chunkIndex": {"type": "integer"},
                "text": {"type": "text"},
            },
        },
    }


def bulk_body(index: str, chunks: list[ChunkRecord], vectors: np.ndarray) -> bytes:
    """NDJSON for `_bulk`: an `index` action per chunk, id `<documentId>:<chunkIndex>` so a retry overwrites."""
    lines = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        lines.append(orjson.dumps({"index": {"_index": index, "_id": f"{chunk.document_id}:{chunk.chunk_index}"}}))
        lines.append(orjson.dumps({
            "documentId": chunk.document_id, "documentName": chunk.document_name, "source": chunk.source,
            "page": chunk.page, "chunkIndex": chunk.chunk_index, "text": chunk.text,
            "embedding": np.asarray(vector, dtype=np.float32).tolist(),
        }))
    return b"\n".join(lines) + b"\n"


def knn_query(vector: np.ndarray, top_k: int) -> dict[str, Any]:
    return {
        "size": top_k,
        "_source": {"excludes": ["embedding"]},
        "query": {"knn": {"embedding": {"vector": np.asarray(vector, dtype=np.float32).tolist(), "k": top_k}}},
    }


def document_query(document_id: str) -> dict[str, Any]:
    return {"query": {"term": {"documentId": document_id}}}


def cosine_from_score(score: float) -> float:
    # Lucene's cosinesimil score is (1 + cosine) / 2.
    return 2.0 * float(score) - 1.0


def opensearch_client(endpoint: str, region: str, **kwargs: Any) -> OpenSearch:
    """A client signing with the platform's AWS credentials (SigV4, service `es`)."""
    from opensearchpy import AWSV4SignerAuth

    from core import aws

    url = endpoint if "://" in endpoint else f"https://{endpoint}"
    return OpenSearch(hosts=[url], http_auth=AWSV4SignerAuth(aws.credentials(), region, "es"),
                      connection_class=RequestsHttpConnection, timeout=30, **kwargs)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except OSConnectionError as exc:
        raise StoreUnavailableError(f"OpenSearch is unreachable ({type(exc).__name__})") from None
    except TransportError as exc:
        raise GatewayError(f"OpenSearch refused the request ({exc.status_code}: {exc.error})") from None


class _OpenSearchWriter(DocumentWriter):
    def __init__(self, client: OpenSearch, index: str) -> None:
        self.client = client
        self.index = index

    def add(self, chunks: list[ChunkRecord], vectors: np.ndarray) -> None:
        with _translated():
            result = self.client.bulk(body=bulk_body(self.index, chunks, vectors), index=self.index)
        if result.get("errors"):
            first = next((i for i in result.get("items", []) if next(iter(i.values())).get("error")), {})
            reason = next(iter(first.values()), {}).get("error", {}) if first else {}
            raise GatewayError(f"OpenSearch refused chunks: {reason.get('type', 'error')}: {reason.get('reason', '')}"[:500])


class OpenSearchStore(VectorStore):
    def __init__(self, repository_id: str, client: OpenSearch, *, m: int = 16, ef_construction: int = 128,
                 ef_search: int = 100) -> None:
        self.repository_id = repository_id
        self.client = client
        self.index = index_name(repository_id)
        self.params = {"m": m, "ef_construction": ef_construction, "ef_search": ef_search}
        self._info: StoreInfo | None = None

    def info(self) -> StoreInfo | None:
        if self._info is None:
            with _translated():
                try:
                    mapping = self.client.indices.get_mapping(index=self.index)
                except NotFoundError:
                    return None
            meta = mapping[self.index]["mappings"].get("_meta", {})
            self._info = StoreInfo(int(meta["dimension"]), str(meta["embeddingModel"]))
        return self._info

    def prepare(self, dimension: int, embedding_model: str) -> StoreInfo:
        info = self.info()
        if info is None:
            with _translated():
                try:
                    self.client.indices.create(index=self.index, body=index_body(dimension, embedding_model, **self.params))
                except RequestError as exc:
                    if exc.error != "resource_already_exists_exception":  # another api task created it first
                        raise
            info = self.info()
            assert info is not None
        check_dimension(info, dimension, embedding_model)
        return info

    @contextmanager
    def writer(self, document_id: str) -> Iterator[DocumentWriter]:
        try:
            yield _OpenSearchWriter(self.client, self.index)
        except BaseException:
            self.delete_document(document_id)
            raise
        with _translated():
            self.client.indices.refresh(index=self.index)

    def delete_document(self, document_id: str) -> int:
        if self.info() is None:
            return 0
        with _translated():
            result = self.client.delete_by_query(index=self.index, body=document_query(document_id),
                                                 params={"refresh": "true", "conflicts": "proceed"})
        return int(result.get("deleted", 0))

    def search(self, vector: np.ndarray, top_k: int) -> list[Hit]:
        if self.info() is None:
            return []
        with _translated():
            result = self.client.search(index=self.index, body=knn_query(vector, top_k))
        hits = []
        for hit in result["hits"]["hits"]:
            src = hit["_source"]
            chunk = ChunkRecord(document_id=src["documentId"], document_name=src["documentName"], source=src["source"],
                                page=src.get("page"), chunk_index=int(src["chunkIndex"]), text=src["text"])
            hits.append(Hit(chunk, cosine_from_score(hit["_score"])))
        return hits

    def count(self, document_id: str | None = None) -> int:
        if self.info() is None:
            return 0
        with _translated():
            body = document_query(document_id) if document_id is not None else None
            return int(self.client.count(index=self.index, body=body)["count"])
