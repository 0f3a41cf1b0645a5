"""Settings of the RAG routes in the api app (environment variables prefixed LISA_RAG_)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RagSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_RAG_")

    # Base URL of the serve gateway (embeddings and chat go through it); default: the platform's `serveUrl`.
    serve_url: str | None = None
    # pgvector repositories use this DSN when set (the local stack's embedded Postgres); else the RDS instance of the
    # repository's RagStores outputs with the credentials in its secret.
    pg_dsn: str | None = None
    # OpenSearch repositories use this node (plain HTTP, unsigned: the local stack's embedded node) when set; else the
    # domain endpoint of the repository's RagStores outputs, signed with the platform's AWS credentials (SigV4).
    opensearch_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    default_embedding_model: str | None = Field(default=None, description="when neither request nor repository names one")
    max_document_bytes: int = Field(default=50 * 1024 * 1024, ge=1, description="files of this size or more are refused")
    # Ingest bombs: text past max_document_chars or chunks past max_document_chunks is a 400; a DOCX whose zip
    # entries declare more than max_docx_unpacked_bytes is refused before it is unpacked.
    max_document_chars: int = Field(default=20_000_000, ge=1)
    max_document_chunks: int = Field(default=50_000, ge=1)
    max_docx_unpacked_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    max_query_chars: int = Field(default=10_000, ge=1)
    max_top_k: int = Field(default=100, ge=1)
    embed_batch: int = Field(default=32, ge=1, le=2048, description="chunks per embeddings request")
    embed_concurrency: int = Field(default=2, ge=1, le=16, description="embeddings requests in flight per ingest job")
    ingest_workers: int = Field(default=2, ge=1, le=32, description="documents ingested at once")
    # Ingest jobs stamp their document every heartbeat_s; one silent for resume_stale_s is resumed by whichever api
    # process looks first (every resume_interval_s).
    heartbeat_s: float = Field(default=10.0, gt=0)
    resume_stale_s: float = Field(default=60.0, gt=0)
    resume_interval_s: float = Field(default=30.0, gt=0)
    gateway_timeout_s: float = Field(default=120.0, gt=0)
    # pgvector HNSW parameters (benchmarks/rag.py measures them on MiniLM vectors of real text). At 100k chunks
    # ef_search=80 left recall@10 of short queries at 0.94-0.95; 128 gives 0.97 for under 1 ms more per search,
    # which the query's embedding (~20 ms) dwarfs.
    hnsw_m: int = Field(default=16, ge=2, le=100)
    hnsw_ef_construction: int = Field(default=64, ge=4, le=1000)
    hnsw_ef_search: int = Field(default=128, ge=1, le=1000)
    # OpenSearch's Lucene HNSW (benchmarks/rag.py): m and ef_construction at index creation, ef_search per query.
    opensearch_m: int = Field(default=16, ge=2, le=100)
    opensearch_ef_construction: int = Field(default=128, ge=4, le=1000)
    opensearch_ef_search: int = Field(default=100, ge=1, le=1000)
    # Repositories and collections are read from their tables at most this often per process.
    catalog_ttl_s: float = Field(default=2.0, ge=0, le=300)
    download_url_expiry_s: int = Field(default=300, ge=10, le=3600)
    # Pipelines: `queue` drains the SQS queues the repository stacks route S3 events to (AWS); `scan` lists each
    # pipeline's prefix every pipeline_poll_s (the emulator delivers no notifications); `auto`: scan when
    # LISA_AWS_ENDPOINT_URL points at an emulator, else queue.
    pipeline_mode: Literal["auto", "scan", "queue"] = "auto"
    pipeline_poll_s: float = Field(default=30.0, gt=0, le=3600)
    pg_pool_size: int = Field(default=4, ge=1, le=64)
    presigned_url_expiry_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
