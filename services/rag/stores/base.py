"""The one small interface every vector store implements, and the records that cross it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.rag.errors import EmbeddingModelError


@dataclass(frozen=True)
class ChunkRecord:
    document_id: str
    document_name: str
    source: str
    chunk_index: int
    text: str
    page: int | None = None
    # The document's metadata, LISA's {"tags": [str], "customFields": {name: str | number | bool}}.
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Hit:
    chunk: ChunkRecord
    score: float  # cosine similarity for a vector search, the fused rank score for a hybrid one; higher is closer


@dataclass(frozen=True)
class ChunkFilter:
    """Which chunks a search may return. Each non-empty field is a condition and all must hold; its values are
    alternatives. An empty filter restricts nothing. A store applies it inside the vector search (OpenSearch's
    filtered k-NN, a WHERE in pgvector's index scan), so a search still returns up to top_k matching chunks."""

    document_ids: frozenset[str] = frozenset()
    document_names: frozenset[str] = frozenset()
    # Metadata: every tag must be on the chunk's document, every custom field must equal the value given.
    tags: frozenset[str] = frozenset()
    fields: tuple[tuple[str, str | int | float | bool], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.document_ids or self.document_names or self.tags or self.fields)

    def metadata(self) -> dict[str, Any]:
        """The metadata every admitted chunk contains (JSON containment)."""
        contained: dict[str, Any] = {}
        if self.tags:
            contained["tags"] = sorted(self.tags)
        if self.fields:
            contained["customFields"] = dict(self.fields)
        return contained


@dataclass(frozen=True)
class StoreInfo:
    dimension: int
    embedding_model: str


class DocumentWriter(ABC):
    """Adds one document's chunks; they become visible together when the writer's context exits without error, and
    nothing of the document is left when it exits with one."""

    @abstractmethod
    def add(self, chunks: list[ChunkRecord], vectors: np.ndarray) -> None: ...


class VectorStore(ABC):
    """One repository's chunks and their vectors. `prepare` fixes the dimension on first ingest; `writer` adds one
    document atomically; `search` is a k-NN query, optionally filtered; `delete_document` and `count` work per
    document. Errors: StoreUnavailableError when the store cannot be reached, EmbeddingModelError on a dimension
    mismatch; a store refusing a request is a GatewayError."""

    @abstractmethod
    def info(self) -> StoreInfo | None:
        """The dimension and embedding model fixed by the first ingest; None before it."""

    @abstractmethod
    def prepare(self, dimension: int, embedding_model: str) -> StoreInfo:
        """Create the repository's table/index for `dimension` if it does not exist; EmbeddingModelError if it exists
        with another dimension."""

    @abstractmethod
    def writer(self, document_id: str) -> AbstractContextManager[DocumentWriter]: ...

    @abstractmethod
    def delete_document(self, document_id: str) -> int:
        """Remove every chunk of the document; returns how many there were."""

    @abstractmethod
    def search(self, vector: np.ndarray, top_k: int, chunk_filter: ChunkFilter | None = None,
               text: str | None = None) -> list[Hit]:
        """The top_k chunks closest to `vector` (cosine) among those `chunk_filter` admits, closest first; with
        `text`, hybrid: the vector ranking and a full-text ranking of `text` fused (reciprocal rank fusion)."""

    @abstractmethod
    def drop(self) -> None:
        """Remove every chunk of the collection and its index (the collection is deleted)."""

    @abstractmethod
    def count(self, document_id: str | None = None) -> int: ...

    def close(self) -> None:  # noqa: B027 (optional)
        pass


RRF_K = 60  # the constant of Cormack et al.'s reciprocal rank fusion: ranks past ~60 barely count
HYBRID_DEPTH = 4  # each ranking of a hybrid search reads this many times top_k (at least 40)


def hybrid_depth(top_k: int) -> int:
    return max(40, top_k * HYBRID_DEPTH)


def fuse(rankings: list[list[Hit]], top_k: int, k: int = RRF_K) -> list[Hit]:
    """Reciprocal rank fusion: a chunk scores the sum of 1/(k + rank) over the rankings it appears in."""
    scores: dict[tuple[str, int], float] = {}
    chunks: dict[tuple[str, int], ChunkRecord] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            key = (hit.chunk.document_id, hit.chunk.chunk_index)
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
            chunks.setdefault(key, hit.chunk)
    best = sorted(scores, key=lambda key: (-scores[key], key))[:top_k]
    return [Hit(chunks[key], scores[key]) for key in best]


def check_dimension(info: StoreInfo, dimension: int, model: str) -> None:
    if info.dimension != dimension:
        raise EmbeddingModelError(
            f"the embedding model {model} makes {dimension}-dimensional vectors but this repository holds "
            f"{info.dimension}-dimensional ones (from {info.embedding_model}); use a model of the same dimension",
            param="embeddingModel",
        )
