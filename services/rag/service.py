"""What the /repository routes do, caller by caller: the one object the router talks to (`app.state.rag`).

Validation happens before anything is stored: type, size, parse, chunk, the caller's right to the embedding model,
and one embedding of the first chunk (which proves the model exists and fixes or checks the collection's
dimension). Only then is the original put in S3, the document recorded and its job started.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from core import aws
from core.errors import ConflictError, InvalidInputError, LisaError, NotFoundError, PermissionDeniedError
from core.platform import PlatformOutputs
from core.schema import describe_validation_errors
from core.rag import (RAG_ADMIN_FIELDS, REPOSITORY_TRANSITIONAL, REPOSITORY_UPDATABLE, CollectionConfig, CollectionRecord,
                      CollectionStatus, FixedChunking, NoChunking, PipelineConfig, RepositoryConfig, RepositoryRecord,
                      UpdateCollectionRequest, UpdateRepositoryRequest, VectorStoreStatus, default_collection,
                      event_sources, new_collection_id)
from services.identity.master_key import MasterKey
from services.rag.catalog import (Caller, Catalog, DefaultStores, StoreFactory, can_use, require_admin,
                                  require_rag_admin)
from services.rag.chunking import Chunk, Limits, Strategy, chunk_document
from services.rag.documents import (ChunkStrategy, DocumentRecord, DocumentTable, IngestionStatus, document_key,
                                    safe_file_name, upload_prefix)
from services.rag.errors import DocumentTooLargeError, EmbeddingModelError
from services.rag.gateway import Gateway
from services.rag.ingest import IngestJobs
from services.rag.model_access import ModelAccess
from services.rag.parsing import content_type, parse
from services.rag.pipelines import check_pipeline_buckets
from services.rag.retrieval import check_query, check_top_k
from services.rag.settings import RagSettings
from services.rag.stores.base import ChunkFilter, Hit

log = logging.getLogger("lisa.rag")
CLIENT_KEY = re.compile(r"^[A-Za-z0-9!_.*'() &$@=;:+,?/-]{1,900}$")


@dataclass(frozen=True)
class IngestPlan:
    """A document that passed every check: what to store and how it was chunked."""

    content_type: str
    chunks: list[Chunk]
    strategy: Strategy


@dataclass(frozen=True)
class IngestOptions:
    collection_id: str | None = None
    model: str | None = None
    strategy: FixedChunking | NoChunking | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    ingestion_type: str = "manual"


def strategy_of(config: FixedChunking | NoChunking) -> Strategy:
    return Strategy("none", 0, 0) if isinstance(config, NoChunking) else Strategy("fixed", config.size, config.overlap)


def stage_record(store) -> RepositoryRecord:
    """A stage-config repository as a repository record (its store made by the core stack)."""
    c = store.repository
    return RepositoryRecord(repository_id=c.repository_id, type=c.type, allowed_groups=list(c.allowed_groups),
                            embedding_model_id=c.default_embedding_model, repository_name=c.repository_id,
                            chunking_strategy=FixedChunking(size=c.chunk_size, overlap=c.chunk_overlap),
                            status=VectorStoreStatus.CREATE_COMPLETE, source="stage", created_by="stage config")


def page_slice(items: list, page: int, page_size: int) -> dict[str, Any]:
    total = len(items)
    pages = max(1, math.ceil(total / page_size))
    start = (page - 1) * page_size
    return {"items": items[start:start + page_size], "totalCount": total, "currentPage": page, "totalPages": pages,
            "hasNextPage": start + page_size < total, "hasPreviousPage": page > 1}


class RagService:
    def __init__(self, platform: PlatformOutputs, settings: RagSettings | None = None, *,
                 store_factory: StoreFactory | None = None, gateway: Gateway | None = None,
                 master_key: MasterKey | None = None) -> None:
        self.platform = platform
        self.settings = settings = settings or RagSettings()
        self.stores = store_factory or DefaultStores(platform, settings)
        self.catalog = Catalog(platform, self.stores, ttl_s=settings.catalog_ttl_s)
        serve_url = settings.serve_url or platform.serve_url
        if gateway is None:
            if not serve_url:
                raise RuntimeError("set LISA_RAG_SERVE_URL (or the platform's serveUrl): embeddings go through serve")
            # The api passes its authenticator's master key: one cache of the secret per process.
            master_key = master_key or MasterKey(platform.master_key_secret_id)
            gateway = Gateway(serve_url, master_key.candidates, timeout_s=settings.gateway_timeout_s)
        self.gateway = gateway
        self.models = ModelAccess(platform)
        self.bucket = platform.buckets.rag_documents
        self.limits = Limits(max_chars=settings.max_document_chars, max_chunks=settings.max_document_chunks)
        self.table = DocumentTable(platform.tables.rag_documents)
        self.jobs = IngestJobs(self.table, self.gateway, workers=settings.ingest_workers, batch=settings.embed_batch,
                               concurrency=settings.embed_concurrency, heartbeat_s=settings.heartbeat_s)
        # Set by the api: submits a repository's stack update (its repository engine). Without it (no stacks, as in
        # a service used alone) collection pipelines are listed by the poller, never routed.
        self.redeploy: Callable[[str], None] | None = None

    def close(self) -> None:
        self.jobs.shutdown()
        self.catalog.close()
        self.gateway.close()

    # repositories -------------------------------------------------------------------------------------------------
    def sync_stage_repositories(self) -> None:
        """Record the stage config's repositories (the config is their truth; a model an ingest adopted stays)."""
        for store in self.platform.rag_stores:
            wanted = stage_record(store)
            current = self.catalog.repositories.get(wanted.repository_id)
            if current is None:
                try:
                    self.catalog.repositories.create(wanted)
                except ConflictError:
                    pass
            elif current.source == "stage":
                update = {"allowed_groups": wanted.allowed_groups, "chunking_strategy": wanted.chunking_strategy,
                          "embedding_model_id": wanted.embedding_model_id or current.embedding_model_id}
                if any(getattr(current, k) != v for k, v in update.items()):
                    self.catalog.repositories.save(current.model_copy(update=update))
        self.catalog.changed()

    def describe(self, record: RepositoryRecord) -> dict[str, Any]:
        """LISA's VectorStoreConfig + status; `chunkSize`/`chunkOverlap`/`defaultEmbeddingModel` for older clients."""
        chunking = record.chunking_strategy
        return {**record.wire(), "defaultEmbeddingModel": record.embedding_model_id,
                "chunkSize": getattr(chunking, "size", None), "chunkOverlap": getattr(chunking, "overlap", None)}

    def repositories(self, caller: Caller) -> list[dict[str, Any]]:
        return [self.describe(r) for r in self.catalog.visible(caller)]

    def repository(self, caller: Caller, repository_id: str) -> dict[str, Any]:
        record = self.catalog.get(repository_id, caller, usable=False)
        described = self.describe(record)
        default = record.default_collection_id
        if default and record.status not in REPOSITORY_TRANSITIONAL:
            info = self.catalog.store(record, default).info()
            described.update(embeddingModel=info.embedding_model if info else record.embedding_model_id,
                             dimension=info.dimension if info else None)
        return described

    def statuses(self, caller: Caller) -> dict[str, str]:
        require_admin(caller, "list repository statuses")
        return {r.repository_id: r.status.value for r in self.catalog.all()}

    def new_repository(self, caller: Caller, config: RepositoryConfig) -> RepositoryRecord:
        """The record a create would write (nothing written: the route decides between preview and create)."""
        require_admin(caller, "create repositories")
        if config.rds_config is not None and not config.rds_config.db_host:
            raise InvalidInputError("rdsConfig without dbHost (an RDS instance of the repository's own) is not supported "
                                    "yet: name dbHost, or leave rdsConfig out for the platform's database",
                                    param="rdsConfig")
        if config.embedding_model_id:
            self.models.check(caller, config.embedding_model_id)
        check_pipeline_buckets(config.pipelines, self.platform.rag_pipeline_buckets)
        if self.catalog.find(config.repository_id) is not None:
            raise ConflictError(f"repository {config.repository_id} already exists", param="repositoryId")
        return RepositoryRecord.model_validate({**config.model_dump(), "status": VectorStoreStatus.CREATE_IN_PROGRESS,
                                                "created_by": caller.id, "source": "api"})

    def create_repository(self, record: RepositoryRecord) -> RepositoryRecord:
        record = self.catalog.repositories.create(record)
        default = default_collection(record)
        if default is not None:
            try:
                self.catalog.collection_table.create(default)
            except ConflictError:
                pass
        self.catalog.changed()
        return record

    def updated_repository(self, caller: Caller, repository_id: str,
                           update: UpdateRepositoryRequest) -> RepositoryRecord:
        """The repository as the update would leave it (LISA: RAG admins may change pipelines only)."""
        changes = update.changes()
        if not changes:
            raise InvalidInputError("name at least one field to change")
        if not caller.is_admin:
            require_rag_admin(caller, "update repositories")
            beyond = sorted(set(changes) - RAG_ADMIN_FIELDS)
            if beyond:
                raise PermissionDeniedError(f"RAG admins may change pipelines only, not {', '.join(beyond)}")
        check_pipeline_buckets(update.pipelines or [], self.platform.rag_pipeline_buckets)
        record = self.catalog.repositories.require(repository_id)
        if record.status in REPOSITORY_TRANSITIONAL:
            raise ConflictError(f"repository {repository_id} is {record.status.value}; try again when it has finished")
        if record.source == "stage" and set(changes) - RAG_ADMIN_FIELDS - {"repository_name", "description", "metadata"}:
            raise InvalidInputError(f"repository {repository_id} comes from the stage config: change it there")
        return _updated(RepositoryRecord, record, changes)

    def save_repository(self, record: RepositoryRecord, *, status: VectorStoreStatus,
                        expected: set[VectorStoreStatus] | None = None) -> RepositoryRecord:
        saved = self.catalog.repositories.save(record.model_copy(update={"status": status, "status_reason": None}),
                                               expected=expected)
        self.catalog.changed()
        return saved

    def begin_delete(self, caller: Caller, repository_id: str) -> RepositoryRecord:
        require_admin(caller, "delete repositories")
        record = self.catalog.repositories.require(repository_id)
        if record.source == "stage":
            raise InvalidInputError(f"repository {repository_id} comes from the stage config: remove it there")
        if record.status is VectorStoreStatus.DELETE_IN_PROGRESS:
            return record
        return self.save_repository(record, status=VectorStoreStatus.DELETE_IN_PROGRESS, expected={record.status})

    def purge_repository(self, record: RepositoryRecord) -> None:
        """Every collection's documents, originals and vectors, then the collections (before its stack goes)."""
        for collection in self.catalog.collection_table.list(record.repository_id):
            self._purge_collection(record, collection)
        self.catalog.forget_store(record.repository_id)

    def _purge_collection(self, repository: RepositoryRecord, collection: CollectionRecord) -> None:
        for document in self.table.in_collection(repository.repository_id, collection.collection_id):
            self.jobs.stop(document.document_id)
            self._delete_object(document)
            self.table.delete(document.repository_id, document.document_id)
        self.catalog.store(repository, collection.collection_id).drop()
        self.catalog.forget_store(repository.repository_id, collection.collection_id)
        self.catalog.collection_table.delete(repository.repository_id, collection.collection_id)
        self.catalog.changed()

    def settle(self, repository_id: str, status: VectorStoreStatus, reason: str | None = None) -> None:
        record = self.catalog.repositories.get(repository_id)
        if record is not None:
            self.catalog.repositories.save(record.model_copy(update={"status": status, "status_reason": reason}))
            self.catalog.changed()

    def forget_repository(self, repository_id: str) -> None:
        self.catalog.repositories.delete(repository_id)
        self.catalog.forget_store(repository_id)
        self.catalog.changed()

    # collections --------------------------------------------------------------------------------------------------
    def collections(self, caller: Caller, repository_id: str, *, page: int = 1, page_size: int = 20,
                    text: str | None = None, status: str | None = None, sort_by: str = "createdAt",
                    sort_order: str = "desc") -> dict[str, Any]:
        repository = self.catalog.get(repository_id, caller, usable=False)
        if repository.default_collection_id:
            self.catalog.find_collection(repository, repository.default_collection_id) or \
                self.catalog.ensure_default(repository)
        records = self._filtered(self.catalog.visible_collections(repository, caller), text, status, sort_by, sort_order)
        sliced = page_slice([c.wire() for c in records], page, page_size)
        return {"collections": sliced.pop("items"), **sliced,
                "lastEvaluatedKey": {"page": page} if sliced["hasNextPage"] else None}

    def all_collections(self, caller: Caller, *, page_size: int = 20, text: str | None = None,
                        sort_by: str = "createdAt", sort_order: str = "desc", offset: int = 0) -> dict[str, Any]:
        records = [c for r in self.catalog.visible(caller) for c in self.catalog.visible_collections(r, caller)]
        records = self._filtered(records, text, None, sort_by, sort_order)
        chosen = records[offset:offset + page_size]
        more = offset + page_size < len(records)
        return {"collections": [c.wire() for c in chosen], "totalCount": len(records),
                "lastEvaluatedKey": {"offset": offset + page_size} if more else None, "hasNextPage": more,
                "hasPreviousPage": offset > 0}

    @staticmethod
    def _filtered(records: list[CollectionRecord], text: str | None, status: str | None, sort_by: str,
                  sort_order: str) -> list[CollectionRecord]:
        if text:
            needle = text.lower()
            records = [c for c in records if needle in c.name.lower() or needle in (c.description or "").lower()
                       or needle in c.collection_id.lower()]
        if status:
            records = [c for c in records if c.status.value == status]
        key = {"name": lambda c: c.name.lower(), "createdAt": lambda c: c.created_at,
               "updatedAt": lambda c: c.updated_at}[sort_by]
        return sorted(records, key=key, reverse=sort_order == "desc")

    def collection(self, caller: Caller, repository_id: str, collection_id: str) -> CollectionRecord:
        repository = self.catalog.get(repository_id, caller, usable=False)
        return self.catalog.collection(repository, collection_id, caller)

    def create_collection(self, caller: Caller, repository_id: str, config: CollectionConfig) -> CollectionRecord:
        require_rag_admin(caller, "create collections")
        repository = self.catalog.get(repository_id, caller)
        model = config.embedding_model or repository.embedding_model_id
        if not model:
            raise EmbeddingModelError("name the collection's embeddingModel: the repository has none", param="embeddingModel")
        self.models.check(caller, model)
        check_pipeline_buckets(config.pipelines, self.platform.rag_pipeline_buckets)
        record = CollectionRecord(
            collection_id=config.collection_id or new_collection_id(config.name), repository_id=repository_id,
            name=config.name or config.collection_id or "collection", description=config.description,
            embedding_model=model, chunking_strategy=config.chunking_strategy or repository.chunking_strategy,
            allowed_groups=config.allowed_groups, metadata=config.metadata, pipelines=config.pipelines,
            created_by=caller.id)
        if self.catalog.find_collection(repository, record.collection_id) is not None:
            raise ConflictError(f"collection {record.collection_id} already exists in repository {repository_id}",
                                param="collectionId")
        with self._rewiring(repository, [], record.pipelines):
            # Its index exists before anyone ingests: the model's dimension is learned from one embedding.
            probe = self.gateway.embed(model, ["dimension probe"])
            self.catalog.store(repository, record.collection_id).prepare(int(probe.shape[1]), model)
            record = self.catalog.collection_table.create(record)
            self.catalog.changed()
        return record

    def update_collection(self, caller: Caller, repository_id: str, collection_id: str,
                          update: UpdateCollectionRequest) -> CollectionRecord:
        require_rag_admin(caller, "update collections")
        record = self.collection(caller, repository_id, collection_id)
        changes = update.model_dump(exclude_unset=True)
        if not changes:
            raise InvalidInputError("name at least one field to change")
        check_pipeline_buckets(update.pipelines or [], self.platform.rag_pipeline_buckets)
        updated = _updated(CollectionRecord, record, changes)
        with self._rewiring(self.catalog.get(repository_id, caller, usable=False), record.pipelines, updated.pipelines):
            saved = self.catalog.collection_table.save(updated)
            self.catalog.changed()
        return saved

    def delete_collection(self, caller: Caller, repository_id: str, collection_id: str) -> dict[str, Any]:
        require_rag_admin(caller, "delete collections")
        repository = self.catalog.get(repository_id, caller, usable=False)
        record = self.catalog.collection(repository, collection_id, caller)
        removed = len(self.table.in_collection(repository_id, collection_id))
        with self._rewiring(repository, record.pipelines, []):
            self._purge_collection(repository, record)
        return {"deleted": True, "collectionId": collection_id, "documentsDeleted": removed}

    @contextmanager
    def _rewiring(self, repository: RepositoryRecord, before: list[PipelineConfig],
                  after: list[PipelineConfig]) -> Iterator[None]:
        """Around a collection change: when it alters what the repository's stack routes (its collections' event
        pipelines too), the repository is claimed for an update first (409 while another change of its stack runs,
        with nothing written) and its stack updated after, whatever the change's outcome."""
        if self.redeploy is None or repository.source != "api" or event_sources(before) == event_sources(after):
            yield
            return
        current = self.catalog.repositories.require(repository.repository_id)
        try:
            self.save_repository(current, status=VectorStoreStatus.UPDATE_IN_PROGRESS, expected=REPOSITORY_UPDATABLE)
        except ConflictError:
            raise ConflictError(f"repository {repository.repository_id} is {current.status.value}; change its "
                                "collections' event pipelines when it has finished") from None
        try:
            yield
        finally:
            self.redeploy(repository.repository_id)

    # ingest -------------------------------------------------------------------------------------------------------
    def presigned_upload(self, caller: Caller, file_name: str, *, client_key: bool = False) -> dict[str, Any]:
        """A presigned POST into the caller's upload folder. `client_key`: LISA's raw-key body, whose key the client
        later names in /bulk (kept, under the caller's folder); else a file name that gets a fresh folder."""
        if client_key:
            key_part = file_name.strip().lstrip("/")
            if not CLIENT_KEY.match(key_part) or ".." in key_part.split("/"):
                raise InvalidInputError("the key must be a relative S3 key of letters, digits and /._- (no '..')")
            name = safe_file_name(key_part)
            key = upload_prefix(caller.id) + key_part
        else:
            name = safe_file_name(file_name)
            key = f"{upload_prefix(caller.id)}{uuid.uuid4()}/{name}"
        content_type(name)  # refuse an unsupported type before the upload, not after
        limit = self.settings.max_document_bytes - 1
        post = aws.client("s3").generate_presigned_post(
            Bucket=self.bucket, Key=key, Conditions=[["content-length-range", 1, limit]],
            ExpiresIn=self.settings.presigned_url_expiry_s)
        return {"key": key, "url": post["url"], "fields": post["fields"], "expiresIn": self.settings.presigned_url_expiry_s,
                "maxBytes": limit}

    def ingest_files(self, caller: Caller, repository_id: str, files: list[tuple[str, bytes]],
                     options: IngestOptions = IngestOptions()) -> tuple[CollectionRecord, list[DocumentRecord]]:
        """Every file is checked before any is stored: one bad file refuses the request and stores nothing."""
        repository = self.catalog.get(repository_id, caller)
        if not files:
            raise InvalidInputError("no file was sent", param="file")
        collection = self._target(caller, repository, options)
        planned = []
        for file_name, data in files:
            name = safe_file_name(file_name)
            self._check_size(name, len(data))
            planned.append((name, data, self._plan(repository, collection, name, data, options)))
        records = []
        for name, data, plan in planned:
            document_id = str(uuid.uuid4())
            key = document_key(repository.repository_id, document_id, name)
            aws.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=plan.content_type)
            record = self._start(caller, repository, collection, document_id, name, key, len(data), plan, options)
            assert record is not None
            records.append(record)
        return collection, records

    def upload_keys(self, caller: Caller, keys: list[str]) -> list[str]:
        """The S3 keys of the caller's uploads: their own full keys, or LISA's client keys under their folder."""
        prefix = upload_prefix(caller.id)
        resolved = []
        for key in dict.fromkeys(keys):
            if key.startswith("uploads/"):
                if not key.startswith(prefix) or ".." in key.split("/"):
                    raise PermissionDeniedError(f"not an upload of yours: {key} (use /repository/presigned-url)",
                                                param="keys")
                resolved.append(key)
            else:
                part = key.lstrip("/")
                if not CLIENT_KEY.match(part) or ".." in part.split("/"):
                    raise InvalidInputError(f"not a key /repository/presigned-url gave: {key[:100]}", param="keys")
                resolved.append(prefix + part)
        return resolved

    def ingest_uploads(self, caller: Caller, repository_id: str, keys: list[str],
                       options: IngestOptions = IngestOptions()) -> tuple[CollectionRecord, list[DocumentRecord]]:
        if not keys:
            raise InvalidInputError("keys is empty: name at least one uploaded file", param="keys")
        keys = self.upload_keys(caller, keys)
        try:
            repository, collection, planned = self._plan_uploads(caller, repository_id, keys, options)
        except LisaError as exc:
            if exc.status < 500:  # refused for good (unknown repository or model, bad file…): no use to anyone
                self._discard_uploads(keys)
            raise
        s3 = aws.client("s3")
        records = []
        for key, name, size, plan in planned:
            document_id = str(uuid.uuid4())
            target = document_key(repository.repository_id, document_id, name)
            s3.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": key},
                           ContentType=plan.content_type, MetadataDirective="REPLACE")
            s3.delete_object(Bucket=self.bucket, Key=key)
            record = self._start(caller, repository, collection, document_id, name, target, size, plan, options)
            assert record is not None
            records.append(record)
        return collection, records

    def ingest_object(self, repository_id: str, collection_id: str, bucket: str, key: str, *, document_id: str,
                      etag: str, metadata: dict[str, Any] | None = None,
                      strategy: FixedChunking | NoChunking | None = None) -> DocumentRecord | None:
        """A pipeline's object (ingestion type `auto`), read where it lies (its record's source is that object);
        None when a document of this id exists already (another process took the event)."""
        repository = self.catalog.find(repository_id)
        if repository is None:
            raise NotFoundError(f"repository {repository_id} does not exist")
        collection = self.catalog.find_collection(repository, collection_id)
        if collection is None and collection_id == repository.default_collection_id:
            collection = self.catalog.ensure_default(repository)
        if collection is None:
            raise NotFoundError(f"collection {collection_id} does not exist")
        s3 = aws.client("s3")
        name = safe_file_name(key.rsplit("/", 1)[-1])
        self._check_size(name, s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read(self.settings.max_document_bytes)
        options = IngestOptions(collection_id=collection.collection_id, metadata=metadata or {}, strategy=strategy,
                                ingestion_type="auto")
        plan = self._plan(repository, collection, name, data, options)
        return self._start(_System("pipeline"), repository, collection, document_id, name, key, len(data), plan,
                           options, bucket=bucket, etag=etag)

    def _plan_uploads(self, caller: Caller, repository_id: str, keys: list[str], options: IngestOptions):
        repository = self.catalog.get(repository_id, caller)
        collection = self._target(caller, repository, options)
        s3 = aws.client("s3")
        planned = []
        for key in keys:
            name = safe_file_name(key.rsplit("/", 1)[-1])
            try:
                self._check_size(name, s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
                data = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if aws.error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                    raise NotFoundError(f"no uploaded file at {key}", param="keys") from None
                raise
            planned.append((key, name, len(data), self._plan(repository, collection, name, data, options)))
        return repository, collection, planned

    def _discard_uploads(self, keys: list[str]) -> None:
        s3 = aws.client("s3")
        for key in keys:
            try:
                s3.delete_object(Bucket=self.bucket, Key=key)
            except ClientError:
                log.warning("could not delete the refused upload %s", key)

    def _check_size(self, name: str, size: int) -> None:
        limit = self.settings.max_document_bytes
        if size >= limit:
            raise DocumentTooLargeError(f"{name} is {size} bytes; documents must be smaller than {limit} bytes "
                                        f"({limit / 1048576:g} MiB)")

    def _target(self, caller: Caller, repository: RepositoryRecord, options: IngestOptions) -> CollectionRecord:
        """The collection an ingest writes to: the one named, else the default; a repository without an embedding
        model (a stage repository without defaultEmbeddingModel) takes the first ingest's as its default."""
        if options.collection_id is None and not repository.default_collection_id:
            if not options.model:
                raise EmbeddingModelError("name an embedding model (embeddingModel): this repository has no default",
                                          param="embeddingModel")
            self.models.check(caller, options.model)
            self.gateway.embed(options.model, ["model probe"])  # an unknown model must not become the default
            repository = self.catalog.repositories.adopt_model(repository.repository_id, options.model)
            self.catalog.changed()
        collection = self.catalog.collection(repository, options.collection_id, caller)
        if options.model and options.model != collection.embedding_model:
            raise EmbeddingModelError(f"collection {collection.collection_id} holds vectors of "
                                      f"{collection.embedding_model}; {options.model} cannot add to it (use that model "
                                      "or another collection)", param="embeddingModel")
        self.models.check(caller, collection.embedding_model)
        return collection

    def _plan(self, repository: RepositoryRecord, collection: CollectionRecord, name: str, data: bytes,
              options: IngestOptions) -> IngestPlan:
        ctype = content_type(name)
        strategy = strategy_of(options.strategy or collection.chunking_strategy)
        chunks = chunk_document(parse(data, name, max_docx_unpacked=self.settings.max_docx_unpacked_bytes),
                                strategy, name, self.limits)
        if not chunks:
            from services.rag.errors import UnreadableDocumentError

            raise UnreadableDocumentError(f"{name} has no text to index once parsed")
        probe = self.gateway.embed(collection.embedding_model, [chunks[0].text])
        self.catalog.store(repository, collection.collection_id).prepare(int(probe.shape[1]), collection.embedding_model)
        return IngestPlan(ctype, chunks, strategy)

    def _start(self, caller: Caller, repository: RepositoryRecord, collection: CollectionRecord, document_id: str,
               name: str, key: str, size: int, plan: IngestPlan, options: IngestOptions, *,
               bucket: str | None = None, etag: str = "") -> DocumentRecord | None:
        metadata = _merged_metadata(collection.metadata.model_dump(mode="json"), options.metadata)
        record = DocumentRecord(
            repository_id=repository.repository_id, document_id=document_id, collection_id=collection.collection_id,
            job_id=str(uuid.uuid4()), document_name=name, source=f"s3://{bucket or self.bucket}/{key}",
            username=caller.id, chunks=len(plan.chunks), metadata=metadata, ingestion_type=options.ingestion_type,
            chunk_strategy=ChunkStrategy(type=plan.strategy.type, size=plan.strategy.size, overlap=plan.strategy.overlap),
            embedding_model=collection.embedding_model, content_type=plan.content_type, size=size, source_etag=etag,
        )
        try:
            if bucket is not None:  # a pipeline's object: one document per version, whoever sees it first
                if not self.table.create(record):
                    return None
            else:
                self.table.put(record)
        except Exception:
            if bucket is None:
                aws.client("s3").delete_object(Bucket=self.bucket, Key=key)
            raise
        self.jobs.submit(self.catalog.store(repository, collection.collection_id), record, plan.chunks)
        return record

    def resume(self, stale_after_s: float | None = None) -> int:
        """Restart the jobs whose process stopped beating (from their stored originals); returns how many."""
        stale_after_s = self.settings.resume_stale_s if stale_after_s is None else stale_after_s
        resumed = 0
        for record in self.table.unfinished():
            repository = self.catalog.find(record.repository_id)
            if repository is None or self.jobs.running(record.document_id):
                continue
            if time.time() - record.heartbeat_at < stale_after_s or not self.table.claim(record):
                continue
            try:
                bucket, key = record.bucket_and_key
                data = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
                strategy = Strategy(record.chunk_strategy.type, record.chunk_strategy.size,  # type: ignore[arg-type]
                                    record.chunk_strategy.overlap)
                chunks = chunk_document(parse(data, record.document_name), strategy, record.document_name, self.limits)
            except Exception as exc:  # noqa: BLE001 (recorded on the document)
                self.table.update(record, status=IngestionStatus.FAILED, error=f"could not resume ({type(exc).__name__})")
                continue
            log.info("resuming the ingest of %s/%s", record.repository_id, record.document_id)
            self.jobs.submit(self.catalog.store(repository, record.collection_id), record, chunks)
            resumed += 1
        return resumed

    # documents ----------------------------------------------------------------------------------------------------
    def documents_page(self, caller: Caller, repository_id: str, collection_id: str | None, page_size: int,
                       after: dict[str, str] | None) -> dict[str, Any]:
        repository = self.catalog.get(repository_id, caller, usable=False)
        collection = self.catalog.collection(repository, collection_id, caller)
        records, last = self.table.page(repository_id, collection.collection_id, page_size, after)
        return {"documents": [r.rag_document() for r in records], "lastEvaluated": last,
                "totalDocuments": self.table.count(repository_id, collection.collection_id),
                "hasNextPage": last is not None, "hasPreviousPage": after is not None}

    def document(self, caller: Caller, repository_id: str, document_id: str) -> DocumentRecord:
        repository = self.catalog.get(repository_id, caller, usable=False)
        record = self.table.get(repository.repository_id, document_id)
        if record is None:
            raise NotFoundError(f"document {document_id} does not exist in repository {repository_id}",
                                param="documentId")
        collection = self.catalog.find_collection(repository, record.collection_id)
        if collection is not None and not can_use(caller, collection.allowed_groups):
            raise PermissionDeniedError(f"you may not use collection {record.collection_id}", param="documentId")
        return record

    def download_url(self, caller: Caller, repository_id: str, document_id: str) -> str:
        """A presigned GET of the original, valid `download_url_expiry_s` (300 s, as LISA): for anyone who may use the
        document's collection, since they may already read every chunk of it through search."""
        record = self.document(caller, repository_id, document_id)
        bucket, key = record.bucket_and_key
        disposition = f"attachment; filename=\"{record.document_name.replace(chr(34), '')}\""
        return aws.client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": disposition},
            ExpiresIn=self.settings.download_url_expiry_s)

    def delete_documents(self, caller: Caller, repository_id: str, document_ids: list[str],
                         collection_id: str | None = None) -> tuple[list[DocumentRecord], int]:
        """LISA's rule: the uploader, admins and RAG admins may delete a document."""
        if not document_ids:
            raise InvalidInputError("documentIds is empty", param="documentIds")
        records = [self.document(caller, repository_id, d) for d in dict.fromkeys(document_ids)]
        if collection_id is not None:
            stray = [r.document_id for r in records if r.collection_id != collection_id]
            if stray:
                raise NotFoundError(f"not in collection {collection_id}: {', '.join(stray)}", param="documentIds")
        foreign = [r.document_id for r in records
                   if r.username != caller.id and not (caller.is_admin or caller.is_rag_admin)]
        if foreign:
            raise PermissionDeniedError(f"only the uploader, an admin or a RAG admin may delete {', '.join(foreign)}",
                                        param="documentIds")
        repository = self.catalog.get(repository_id, caller, usable=False)
        return records, sum(self.remove_document(repository, record) for record in records)

    def remove_document(self, repository: RepositoryRecord, record: DocumentRecord) -> int:
        """A document's job stopped, its vectors, original (unless a pipeline's) and record gone; vectors purged."""
        self.jobs.stop(record.document_id)
        purged = self.catalog.store(repository, record.collection_id).delete_document(record.document_id)
        self._delete_object(record)
        self.table.delete(record.repository_id, record.document_id)
        return purged

    def _delete_object(self, record: DocumentRecord) -> None:
        bucket, key = record.bucket_and_key
        if record.ingestion_type != "auto":  # a pipeline's object belongs to its bucket's owner
            aws.client("s3").delete_object(Bucket=bucket, Key=key)

    def jobs_page(self, caller: Caller, repository_id: str, time_limit_h: int, page_size: int,
                  after: dict[str, str] | None) -> dict[str, Any]:
        """LISA's ingestion jobs: newest first within `time_limit_h` hours; non-admins see their own."""
        self.catalog.get(repository_id, caller, usable=False)
        since = (datetime.now(timezone.utc) - timedelta(hours=time_limit_h)).isoformat(timespec="milliseconds")
        owner = None if (caller.is_admin or caller.is_rag_admin) else caller.id
        records, last = self.table.jobs_page(repository_id, since.replace("+00:00", "Z"), page_size, after, owner)
        return {"jobs": [r.ingestion_job() for r in records], "lastEvaluatedKey": last, "hasNextPage": last is not None,
                "hasPreviousPage": after is not None}

    # search -------------------------------------------------------------------------------------------------------
    def search(self, caller: Caller, repository_id: str, query: str | None, top_k: int, *,
               collection_id: str | None = None, model: str | None = None, chunk_filter: ChunkFilter | None = None,
               search_type: str | None = None) -> list[Hit]:
        repository = self.catalog.get(repository_id, caller)
        query = check_query(query, self.settings.max_query_chars)
        top_k = check_top_k(top_k, self.settings.max_top_k)
        if collection_id is None and not repository.default_collection_id:
            return []  # nothing ingested and no collection named: nothing can match
        collection = self.catalog.collection(repository, collection_id, caller)
        if model and model != collection.embedding_model:
            raise EmbeddingModelError(f"collection {collection.collection_id} holds vectors of "
                                      f"{collection.embedding_model}, not of {model}", param="modelName")
        self.models.check(caller, collection.embedding_model)
        store = self.catalog.store(repository, collection.collection_id)
        if store.info() is None:
            return []
        vector = self.gateway.embed(collection.embedding_model, [query])[0]
        hybrid = (search_type or repository.search_type) == "hybrid"
        return store.search(vector, top_k, chunk_filter, text=query if hybrid else None)


class _System:
    """The principal of a pipeline's ingest (no person: the admin who made the pipeline decided)."""

    def __init__(self, name: str) -> None:
        self.id, self.groups, self.is_admin, self.is_rag_admin = name, (), True, True


def _merged_metadata(collection: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """A document's metadata over its collection's: tags of both, the document's fields winning."""
    tags = list(dict.fromkeys([*collection.get("tags", []), *document.get("tags", [])]))
    fields = {**collection.get("customFields", {}), **document.get("customFields", {})}
    merged: dict[str, Any] = {}
    if tags:
        merged["tags"] = tags
    if fields:
        merged["customFields"] = fields
    return merged


def _updated(model: type[BaseModel], record: BaseModel, changes: dict[str, Any]):
    """`record` with `changes` applied; a change the record cannot hold (e.g. null for its pipelines) is the
    caller's: a 400 naming the field, not a 500."""
    try:
        return model.model_validate({**record.model_dump(), **changes})
    except ValidationError as exc:
        raise InvalidInputError("; ".join(describe_validation_errors(exc.errors()))) from None
