"""OpenSearch store: one k-NN index per collection (`knn_vector`, HNSW on Lucene, cosine), bulk ingest, k-NN query
(optionally filtered: Lucene applies the filter inside the graph search, or searches the matching chunks exactly
when few match, so a filtered search still finds top_k).

The index refreshes only when told (`refresh_interval: -1`): a document's chunks become searchable together when its
ingest ends, and a failed ingest deletes what it wrote by id (realtime) before anyone could have seen part of it.
A refresh makes everything written so far visible, so a document ingested at the same moment as another one may be
seen half-written at the other's refresh until its own ends.

In AWS the client signs with SigV4 (`opensearch_client`); locally it talks plain HTTP to the embedded node
(`local_client`, services/local/opensearch.py).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import orjson
from opensearchpy import OpenSearch, RequestsHttpConnection
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import NotFoundError, RequestError, TransportError

from providers.rag_store_schema import index_body, index_name
from services.rag.errors import GatewayError, StoreUnavailableError
from services.rag.stores.base import (ChunkFilter, ChunkRecord, DocumentWriter, Hit, StoreInfo, VectorStore,
                                     check_dimension, fuse, hybrid_depth)

DEFAULT_COLLECTION = "default"


def chunk_id(document_id: str, chunk_index: int) -> str:
    return f"{document_id}:{chunk_index}"


def bulk_body(index: str, chunks: list[ChunkRecord], vectors: np.ndarray) -> bytes:
    """NDJSON for `_bulk`: an `index` action per chunk, id `<documentId>:<chunkIndex>` so a retry overwrites."""
    lines = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        lines.append(orjson.dumps({"index": {"_index": index, "_id": chunk_id(chunk.document_id, chunk.chunk_index)}}))
        lines.append(orjson.dumps({
            "documentId": chunk.document_id, "documentName": chunk.document_name, "source": chunk.source,
            "page": chunk.page, "chunkIndex": chunk.chunk_index, "text": chunk.text, "metadata": chunk.metadata or {},
            "embedding": np.asarray(vector, dtype=np.float32).tolist(),
        }))
    return b"\n".join(lines) + b"\n"


def delete_body(index: str, ids: list[str]) -> bytes:
    return b"\n".join(orjson.dumps({"delete": {"_index": index, "_id": i}}) for i in ids) + b"\n"


def filter_query(chunk_filter: ChunkFilter | None) -> dict[str, Any] | None:
    """The k-NN `filter` for a ChunkFilter: a bool of `terms` on keyword fields; None when it restricts nothing."""
    terms: list[dict[str, Any]] = [{"terms": {name: sorted(values)}} for name, values in (
        ("documentId", chunk_filter.document_ids if chunk_filter else ()),
        ("documentName", chunk_filter.document_names if chunk_filter else ())) if values]
    if chunk_filter:
        terms += [{"term": {"metadata.tags": tag}} for tag in sorted(chunk_filter.tags)]
        terms += [{"term": {f"metadata.customFields.{name}": value}} for name, value in chunk_filter.fields]
    return {"bool": {"filter": terms}} if terms else None


def match_query(text: str, size: int, chunk_filter: ChunkFilter | None = None) -> dict[str, Any]:
    """The full-text half of a hybrid search: BM25 `match` on the chunk text, with the same filter."""
    query: dict[str, Any] = {"bool": {"must": [{"match": {"text": text}}]}}
    restriction = filter_query(chunk_filter)
    if restriction is not None:
        query["bool"]["filter"] = restriction["bool"]["filter"]
    return {"size": size, "_source": {"excludes": ["embedding"]}, "query": query}


def knn_query(vector: np.ndarray, top_k: int, chunk_filter: ChunkFilter | None = None, *,
              ef_search: int = 100) -> dict[str, Any]:
    knn: dict[str, Any] = {"vector": np.asarray(vector, dtype=np.float32).tolist(), "k": top_k,
                           "method_parameters": {"ef_search": max(ef_search, top_k)}}
    restriction = filter_query(chunk_filter)
    if restriction is not None:
        knn["filter"] = restriction
    return {"size": top_k, "_source": {"excludes": ["embedding"]}, "query": {"knn": {"embedding": knn}}}


def document_query(document_id: str) -> dict[str, Any]:
    return {"query": {"term": {"documentId": document_id}}}


def cosine_from_score(score: float) -> float:
    # Lucene's cosinesimil score is (1 + cosine) / 2.
    return 2.0 * float(score) - 1.0


def local_client(url: str, **kwargs: Any) -> OpenSearch:
    """A client of a node without the security plugin (the local stack's and the tests'): plain HTTP, unsigned."""
    return OpenSearch(hosts=[url], timeout=30, **kwargs)


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


def bulk_failure(result: dict[str, Any]) -> str | None:
    """The first refused item of a `_bulk` answer, as `type: reason`; None when every item went through."""
    if not result.get("errors"):
        return None
    for item in result.get("items", []):
        error = next(iter(item.values()), {}).get("error")
        if error:
            cause = error.get("caused_by", {}).get("reason")
            return f"{error.get('type', 'error')}: {error.get('reason', '')}" + (f" ({cause})" if cause else "")
    return "error"


class _OpenSearchWriter(DocumentWriter):
    def __init__(self, client: OpenSearch, index: str) -> None:
        self.client = client
        self.index = index
        self.written: list[str] = []  # ids sent, also those of a refused bulk request (some items may have landed)

    def add(self, chunks: list[ChunkRecord], vectors: np.ndarray) -> None:
        self.written += [chunk_id(c.document_id, c.chunk_index) for c in chunks]
        with _translated():
            result = self.client.bulk(body=bulk_body(self.index, chunks, vectors), index=self.index)
        failure = bulk_failure(result)
        if failure:
            raise GatewayError(f"OpenSearch refused chunks: {failure}"[:500])

    def discard(self) -> None:
        """Delete what this writer sent; by id, so unrefreshed chunks go too and nothing is exposed meanwhile."""
        if self.written:
            with _translated():
                self.client.bulk(body=delete_body(self.index, self.written), index=self.index)


def _hit_chunk(hit: dict[str, Any]) -> ChunkRecord:
    src = hit["_source"]
    return ChunkRecord(document_id=src["documentId"], document_name=src["documentName"], source=src["source"],
                       page=src.get("page"), chunk_index=int(src["chunkIndex"]), text=src["text"],
                       metadata=src.get("metadata") or {})


class OpenSearchStore(VectorStore):
    def __init__(self, repository_id: str, client: OpenSearch, *, collection_id: str = DEFAULT_COLLECTION,
                 m: int = 16, ef_construction: int = 128, ef_search: int = 100) -> None:
        self.repository_id = repository_id
        self.collection_id = collection_id
        self.client = client
        self.index = index_name(repository_id, collection_id)
        self.params = {"m": m, "ef_construction": ef_construction}
        self.ef_search = ef_search
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
        if self.info() is None:
            raise RuntimeError("prepare() the store before writing to it")
        writer = _OpenSearchWriter(self.client, self.index)
        try:
            yield writer
        except BaseException:
            try:
                writer.discard()
                self.delete_document(document_id)  # chunks of an earlier attempt under other ids
            except (GatewayError, StoreUnavailableError):
                pass  # the first error is the one to report; a delete of the document retries the clean-up
            raise
        with _translated():
            self.client.indices.refresh(index=self.index)

    def delete_document(self, document_id: str) -> int:
        if self.info() is None:
            return 0
        with _translated():
            # delete_by_query finds only what a refresh made visible; chunks a crashed writer left are not, yet.
            self.client.indices.refresh(index=self.index)
            result = self.client.delete_by_query(index=self.index, body=document_query(document_id),
                                                 params={"refresh": "true", "conflicts": "proceed"})
        return int(result.get("deleted", 0))

    def search(self, vector: np.ndarray, top_k: int, chunk_filter: ChunkFilter | None = None,
               text: str | None = None) -> list[Hit]:
        if self.info() is None:
            return []
        depth = hybrid_depth(top_k) if text else top_k
        with _translated():
            result = self.client.search(index=self.index,
                                        body=knn_query(vector, depth, chunk_filter, ef_search=self.ef_search))
            vector_hits = [Hit(_hit_chunk(h), cosine_from_score(h["_score"])) for h in result["hits"]["hits"]]
            if not text:
                return vector_hits
            result = self.client.search(index=self.index, body=match_query(text, depth, chunk_filter))
        text_hits = [Hit(_hit_chunk(h), float(h["_score"])) for h in result["hits"]["hits"]]
        return fuse([vector_hits, text_hits], top_k)

    def drop(self) -> None:
        with _translated():
            self.client.indices.delete(index=self.index, ignore_unavailable=True)
        self._info = None

    def count(self, document_id: str | None = None) -> int:
        if self.info() is None:
            return 0
        with _translated():
            body = document_query(document_id) if document_id is not None else None
            return int(self.client.count(index=self.index, body=body)["count"])
