"""RAG repositories and collections as LISA v6 defines them (its VectorStoreConfig and RagCollectionConfig), their
statuses, and the rules that decide a request before anything is stored. Used by the api's routes, the repository
stacks' providers and the stage config alike.

A repository is a vector store (pgvector or OpenSearch) whose documents live in collections; each collection has
its own embedding model, chunking strategy, groups and metadata. The default collection's id is the repository's
embedding model id, as in LISA.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import ConfigDict, Field, field_validator, model_validator

from core.schema import CamelModel

S3_BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"

REPOSITORY_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{1,18}[a-z0-9])$"  # LISA: 3-20 of [a-z0-9-], no '-' at either end
COLLECTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"
MIN_CHUNK_SIZE, MAX_CHUNK_SIZE = 100, 10_000


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class VectorStoreStatus(str, Enum):
    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_COMPLETE = "CREATE_COMPLETE"
    CREATE_FAILED = "CREATE_FAILED"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
    UPDATE_COMPLETE = "UPDATE_COMPLETE"
    UPDATE_COMPLETE_CLEANUP_IN_PROGRESS = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    UPDATE_FAILED = "UPDATE_FAILED"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_FAILED = "DELETE_FAILED"
    UNKNOWN = "UNKNOWN"


REPOSITORY_TRANSITIONAL = {VectorStoreStatus.CREATE_IN_PROGRESS, VectorStoreStatus.UPDATE_IN_PROGRESS,
                           VectorStoreStatus.DELETE_IN_PROGRESS}
# A repository whose stack may be updated (PUT, or a collection's event pipelines changing).
REPOSITORY_UPDATABLE = {VectorStoreStatus.CREATE_COMPLETE, VectorStoreStatus.UPDATE_COMPLETE,
                        VectorStoreStatus.UPDATE_FAILED}
REPOSITORY_USABLE = {VectorStoreStatus.CREATE_COMPLETE, VectorStoreStatus.UPDATE_COMPLETE,
                     VectorStoreStatus.UPDATE_IN_PROGRESS, VectorStoreStatus.UPDATE_FAILED}


class CollectionStatus(str, Enum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"
    DELETED = "DELETED"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_FAILED = "DELETE_FAILED"


class RagMetadata(CamelModel):
    """LISA's metadata of repositories, collections and documents: tags, and named fields of simple values."""

    model_config = ConfigDict(extra="forbid")
    tags: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(default_factory=list, max_length=50)
    custom_fields: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")],
                        Union[Annotated[str, Field(max_length=1024)], int, float, bool]] = Field(
        default_factory=dict, max_length=50)

    @field_validator("tags")
    @classmethod
    def _unique(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tags))


class FixedChunking(CamelModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["fixed"] = "fixed"
    size: int = Field(default=512, ge=MIN_CHUNK_SIZE, le=MAX_CHUNK_SIZE)
    overlap: int = Field(default=51, ge=0)

    @model_validator(mode="after")
    def _half(self) -> FixedChunking:
        if self.overlap > self.size / 2:
            raise ValueError(f"overlap: {self.overlap} must be at most half the size ({self.size})")
        return self


class NoChunking(CamelModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["none"]


ChunkingStrategy = Annotated[Union[FixedChunking, NoChunking], Field(discriminator="type")]


class PipelineConfig(CamelModel):
    """LISA's automatic ingestion: objects under s3Bucket/s3Prefix are ingested (and, with autoRemove, removed)."""

    model_config = ConfigDict(extra="ignore")
    s3_bucket: str = Field(pattern=S3_BUCKET_PATTERN)
    s3_prefix: str = Field(default="", max_length=1024)
    trigger: Literal["event", "daily"] = "event"
    auto_remove: bool = True
    collection_id: str | None = Field(default=None, pattern=COLLECTION_ID_PATTERN)
    embedding_model: str | None = Field(default=None, max_length=512)
    chunking_strategy: ChunkingStrategy | None = None
    metadata: RagMetadata = Field(default_factory=RagMetadata)


class RepositoryRdsConfig(CamelModel):
    """LISA's rdsConfig: `dbHost` names an existing database (password in `passwordSecretId`); without it the
    repository gets an RDS instance of its own. No rdsConfig: the platform's shared database."""

    model_config = ConfigDict(extra="ignore")
    username: str = Field(default="postgres", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    password_secret_id: str | None = Field(default=None, max_length=2048)
    db_host: str | None = Field(default=None, max_length=253)
    db_name: str = Field(default="postgres", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    db_port: int = Field(default=5432, ge=1, le=65535)
    instance_class: str = Field(default="db.t4g.medium", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")


class RepositoryOpenSearchConfig(CamelModel):
    """LISA's opensearchConfig: `endpoint` names an existing domain; without it the platform's shared domain."""

    model_config = ConfigDict(extra="ignore")
    endpoint: str | None = Field(default=None, pattern=r"^(https?://)?[A-Za-z0-9.-]+(:\d+)?/?$")


class RepositoryConfig(CamelModel):
    """LISA's VectorStoreConfig (POST /repository). Beyond LISA: `chunkingStrategy` of the default collection,
    `searchType`, the repository's default for similarity search."""

    model_config = ConfigDict(extra="ignore")
    repository_id: str = Field(pattern=REPOSITORY_ID_PATTERN)
    repository_name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=2048)
    embedding_model_id: str | None = Field(default=None, min_length=1, max_length=512)
    type: Literal["pgvector", "opensearch"]
    allowed_groups: list[str] = Field(default_factory=list)
    metadata: RagMetadata = Field(default_factory=RagMetadata)
    pipelines: list[PipelineConfig] = Field(default_factory=list, max_length=20)
    rds_config: RepositoryRdsConfig | None = None
    opensearch_config: RepositoryOpenSearchConfig | None = None
    chunking_strategy: ChunkingStrategy = Field(default_factory=FixedChunking)
    search_type: Literal["vector", "hybrid"] = "vector"

    @model_validator(mode="after")
    def _store(self) -> RepositoryConfig:
        if self.type == "opensearch" and self.rds_config is not None:
            raise ValueError("rdsConfig: applies to pgvector repositories only")
        if self.type == "pgvector" and self.opensearch_config is not None:
            raise ValueError("opensearchConfig: applies to opensearch repositories only")
        return self


class RepositoryRecord(RepositoryConfig):
    status: VectorStoreStatus = VectorStoreStatus.CREATE_IN_PROGRESS
    status_reason: str | None = None
    created_by: str | None = None
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)
    # "stage": from the stage config (its store made by the core stack); "api": made at runtime in its own stack.
    source: Literal["stage", "api"] = "api"

    @property
    def default_collection_id(self) -> str | None:
        return self.embedding_model_id

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class UpdateRepositoryRequest(CamelModel):
    """LISA's UpdateVectorStoreRequest: RAG admins may change `pipelines` only; admins anything listed."""

    model_config = ConfigDict(extra="forbid")
    repository_name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=2048)
    allowed_groups: list[str] | None = None
    metadata: RagMetadata | None = None
    pipelines: list[PipelineConfig] | None = Field(default=None, max_length=20)
    chunking_strategy: ChunkingStrategy | None = None
    search_type: Literal["vector", "hybrid"] | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


RAG_ADMIN_FIELDS = {"pipelines"}


class CollectionConfig(CamelModel):
    """LISA's RagCollectionConfig (POST /repository/{id}/collection)."""

    model_config = ConfigDict(extra="ignore")
    collection_id: str | None = Field(default=None, pattern=COLLECTION_ID_PATTERN)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=2048)
    embedding_model: str | None = Field(default=None, min_length=1, max_length=512)
    chunking_strategy: ChunkingStrategy | None = None
    allowed_groups: list[str] = Field(default_factory=list)
    metadata: RagMetadata = Field(default_factory=RagMetadata)
    pipelines: list[PipelineConfig] = Field(default_factory=list, max_length=20)


class CollectionRecord(CamelModel):
    model_config = ConfigDict(extra="ignore")
    collection_id: str
    repository_id: str
    name: str
    description: str | None = None
    embedding_model: str
    chunking_strategy: ChunkingStrategy = Field(default_factory=FixedChunking)
    allowed_groups: list[str] = Field(default_factory=list)
    metadata: RagMetadata = Field(default_factory=RagMetadata)
    pipelines: list[PipelineConfig] = Field(default_factory=list)
    status: CollectionStatus = CollectionStatus.ACTIVE
    default: bool = False
    created_by: str | None = None
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def is_live(collection: CollectionRecord) -> bool:
    """Neither deleted nor being deleted: found by its id, searched, and its pipelines watched."""
    return collection.status not in (CollectionStatus.DELETED, CollectionStatus.DELETE_IN_PROGRESS)


def event_sources(pipelines: list[PipelineConfig]) -> frozenset[tuple[str, str]]:
    """What a repository's stack routes for these pipelines: the bucket and prefix of each event pipeline."""
    return frozenset((p.s3_bucket, p.s3_prefix) for p in pipelines if p.trigger == "event")


class UpdateCollectionRequest(CamelModel):
    """PUT /repository/{id}/collection/{collectionId}: the embedding model cannot change (its vectors would not
    match), nor the id."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=2048)
    chunking_strategy: ChunkingStrategy | None = None
    allowed_groups: list[str] | None = None
    metadata: RagMetadata | None = None
    pipelines: list[PipelineConfig] | None = Field(default=None, max_length=20)
    status: Literal["ACTIVE", "ARCHIVED"] | None = None


def default_collection(repository: RepositoryRecord) -> CollectionRecord | None:
    """The collection LISA makes of a repository with an embedding model: id = the model, the repository's groups."""
    if not repository.embedding_model_id:
        return None
    return CollectionRecord(
        collection_id=repository.embedding_model_id, repository_id=repository.repository_id,
        name=f"{repository.repository_name or repository.repository_id} (default)",
        embedding_model=repository.embedding_model_id, chunking_strategy=repository.chunking_strategy,
        allowed_groups=list(repository.allowed_groups), metadata=repository.metadata, default=True,
        created_by=repository.created_by)


def new_collection_id(name: str | None) -> str:
    import uuid

    slug = re.sub(r"[^a-z0-9-]+", "-", (name or "").lower()).strip("-")[:40]
    return f"{slug}-{uuid.uuid4().hex[:8]}" if slug else str(uuid.uuid4())
