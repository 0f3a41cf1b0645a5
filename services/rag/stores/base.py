"""The one small interface every vector store implements, and the records that cross it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Hit:
    chunk: ChunkRecord
    score: float  # cosine similarity, higher is closer


@dataclass(frozen=True)
class ChunkFilter:
    """Which chunks a search may return. Each non-empty field is a condition and all must hold; its values are
    alternatives. An empty filter restricts nothing. A store applies it inside the vector search (OpenSearch's
    filtered k-NN, a WHERE in pgvector's index scan), so a search still returns up to top_k matching chunks."""

    document_ids: frozenset[str] = frozenset()
    document_names: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.document_ids or self.document_names)


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
    def search(self, vector: np.ndarray, top_k: int, chunk_filter: ChunkFilter | None = None) -> list[Hit]:
        """The top_k chunks closest to `vector` (cosine) among those `chunk_filter` admits, closest first."""

    @abstractmethod
    def count(self, document_id: str | None = None) -> int: ...

    def close(self) -> None:  # noqa: B027 (optional)
        pass


def check_dimension(info: StoreInfo, dimension: int, model: str) -> None:
    if info.dimension != dimension:
        raise EmbeddingModelError(
            f"the embedding model {model} makes {dimension}-dimensional vectors but this repository holds "
            f"{info.dimension}-dimensional ones (from {info.embedding_model}); use a model of the same dimension",
            param="embeddingModel",
        )
