"""What the /repository routes do, caller by caller: the one object the router talks to (`app.state.rag`).

Validation happens before anything is stored: type, size, parse, chunk, and one embedding of the first chunk (which
proves the model exists and fixes or checks the repository's dimension). Only then is the original put in S3, the
document recorded and its job started.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from core import aws
from core.errors import InvalidInputError, LisaError, NotFoundError, PermissionDeniedError
from core.platform import PlatformOutputs
from services.rag.catalog import Caller, Catalog, DefaultStores, Repository, StoreFactory
from services.rag.chunking import Chunk, Limits, Strategy, chunk_document, chunk_pages
from services.rag.documents import (
    ChunkStrategy,
    DocumentRecord,
    DocumentTable,
    IngestionStatus,
    document_key,
    safe_file_name,
    upload_prefix,
)
from services.rag.errors import DocumentTooLargeError, EmbeddingModelError
from services.identity.master_key import MasterKey
from services.rag.gateway import Gateway
from services.rag.ingest import IngestJobs
from services.rag.parsing import content_type, parse
from services.rag.retrieval import check_query, check_top_k
from services.rag.settings import RagSettings
from services.rag.stores.base import Hit

log = logging.getLogger("lisa.rag")


@dataclass(frozen=True)
class IngestPlan:
    """A document that passed every check: what to store and how it was chunked."""

    content_type: str
    chunks: list[Chunk]
    model: str
    size: int
    overlap: int


class RagService:
    def __init__(self, platform: PlatformOutputs, settings: RagSettings | None = None, *,
                 store_factory: StoreFactory | None = None, gateway: Gateway | None = None,
                 master_key: MasterKey | None = None) -> None:
        self.platform = platform
        self.settings = settings = settings or RagSettings()
        self.catalog = Catalog(platform, store_factory or DefaultStores(platform, settings))
        serve_url = settings.serve_url or platform.serve_url
        if gateway is None:
            if not serve_url:
                raise RuntimeError("set LISA_RAG_SERVE_URL (or the platform's serveUrl): embeddings go through serve")
            # The api passes its authenticator's master key: one cache of the secret per process.
            master_key = master_key or MasterKey(platform.master_key_secret_id)
            gateway = Gateway(serve_url, master_key.candidates, timeout_s=settings.gateway_timeout_s)
        self.gateway = gateway
        self.bucket = platform.buckets.rag_documents
        self.limits = Limits(max_chars=settings.max_document_chars, max_chunks=settings.max_document_chunks)
        self.table = DocumentTable(platform.tables.rag_documents)
        self.jobs = IngestJobs(self.table, self.gateway, self.catalog.store, workers=settings.ingest_workers,
                               batch=settings.embed_batch, concurrency=settings.embed_concurrency,
                               heartbeat_s=settings.heartbeat_s)

    def close(self) -> None:
        self.jobs.shutdown()
        self.catalog.close()
        self.gateway.close()

    # repositories -------------------------------------------------------------------------------------------------
    def repositories(self, caller: Caller) -> list[dict[str, Any]]:
        return [r.describe() for r in self.catalog.visible(caller)]

    def repository(self, caller: Caller, repository_id: str) -> dict[str, Any]:
        repository = self.catalog.get(repository_id, caller)
        info = self.catalog.store(repository).info()
        return {**repository.describe(), "embeddingModel": info.embedding_model if info else None,
                "dimension": info.dimension if info else None}

    def embedding_model(self, repository: Repository, requested: str | None) -> str | None:
        """The model a request names, else the one the repository was built with, else the configured defaults."""
        if requested:
            return requested
        info = self.catalog.store(repository).info()
        return (info.embedding_model if info else None) or repository.config.default_embedding_model \
            or self.settings.default_embedding_model

    # ingest -------------------------------------------------------------------------------------------------------
    def presigned_upload(self, caller: Caller, file_name: str) -> dict[str, Any]:
        name = safe_file_name(file_name)
        content_type(name)  # refuse an unsupported type before the upload, not after
        key = f"{upload_prefix(caller.id)}{uuid.uuid4()}/{name}"
        limit = self.settings.max_document_bytes - 1
        post = aws.client("s3").generate_presigned_post(
            Bucket=self.bucket, Key=key, Conditions=[["content-length-range", 1, limit]],
            ExpiresIn=self.settings.presigned_url_expiry_s)
        return {"key": key, "url": post["url"], "fields": post["fields"], "expiresIn": self.settings.presigned_url_expiry_s,
                "maxBytes": limit}

    def ingest_files(self, caller: Caller, repository_id: str, files: list[tuple[str, bytes]], *,
                     model: str | None = None, chunk_size: int | None = None,
                     chunk_overlap: int | None = None) -> list[DocumentRecord]:
        """Every file is checked before any is stored: one bad file refuses the request and stores nothing."""
        repository = self.catalog.get(repository_id, caller)
        if not files:
            raise InvalidInputError("no file was sent", param="file")
        planned = []
        for file_name, data in files:
            name = safe_file_name(file_name)
            self._check_size(name, len(data))
            planned.append((name, data, self._plan(repository, name, data, model, chunk_size, chunk_overlap)))
        records = []
        for name, data, plan in planned:
            document_id = str(uuid.uuid4())
            key = document_key(repository.id, document_id, name)
            aws.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=plan.content_type)
            records.append(self._start(caller, repository, document_id, name, key, len(data), plan))
        return records

    def ingest_uploads(self, caller: Caller, repository_id: str, keys: list[str], *, model: str | None = None,
                       chunk_size: int | None = None, chunk_overlap: int | None = None) -> list[DocumentRecord]:
        if not keys:
            raise InvalidInputError("keys is empty: name at least one uploaded file", param="keys")
        prefix = upload_prefix(caller.id)
        foreign = [k for k in keys if not k.startswith(prefix) or ".." in k]
        if foreign:
            raise PermissionDeniedError(f"not uploads of yours: {', '.join(foreign[:3])} (use /repository/presigned-url)",
                                        param="keys")
        keys = list(dict.fromkeys(keys))
        try:
            planned = self._plan_uploads(caller, repository_id, keys, model, chunk_size, chunk_overlap)
        except LisaError as exc:
            if exc.status < 500:  # refused for good (unknown repository or model, bad file…): no use to anyone
                self._discard_uploads(keys)
            raise
        s3 = aws.client("s3")
        repository = self.catalog.get(repository_id, caller)
        records = []
        for key, name, size, plan in planned:
            document_id = str(uuid.uuid4())
            target = document_key(repository.id, document_id, name)
            s3.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": key},
                           ContentType=plan.content_type, MetadataDirective="REPLACE")
            s3.delete_object(Bucket=self.bucket, Key=key)
            records.append(self._start(caller, repository, document_id, name, target, size, plan))
        return records

    def _plan_uploads(self, caller: Caller, repository_id: str, keys: list[str], model: str | None,
                      chunk_size: int | None, chunk_overlap: int | None) -> list[tuple[str, str, int, IngestPlan]]:
        repository = self.catalog.get(repository_id, caller)
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
            planned.append((key, name, len(data), self._plan(repository, name, data, model, chunk_size, chunk_overlap)))
        return planned

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

    def _plan(self, repository: Repository, name: str, data: bytes, model: str | None, chunk_size: int | None,
              chunk_overlap: int | None) -> IngestPlan:
        ctype = content_type(name)
        size = chunk_size if chunk_size is not None else repository.config.chunk_size
        overlap = chunk_overlap if chunk_overlap is not None else min(repository.config.chunk_overlap, size // 2)
        chunks = chunk_document(parse(data, name, max_docx_unpacked=self.settings.max_docx_unpacked_bytes),
                                Strategy("fixed", size, overlap), name, self.limits)
        if not chunks:
            raise UnreadableDocumentError(f"{name} has no text to index once parsed")
        chosen = self.embedding_model(repository, model)
        if not chosen:
            raise EmbeddingModelError("name an embedding model (embeddingModel): this repository has no default",
                                      param="embeddingModel")
        probe = self.gateway.embed(chosen, [chunks[0].text])
        self.catalog.store(repository).prepare(int(probe.shape[1]), chosen)
        return IngestPlan(ctype, chunks, chosen, size, overlap)

    def _start(self, caller: Caller, repository: Repository, document_id: str, name: str, key: str, size: int,
               plan: IngestPlan) -> DocumentRecord:
        record = DocumentRecord(
            repository_id=repository.id, document_id=document_id, job_id=str(uuid.uuid4()), document_name=name,
            source=f"s3://{self.bucket}/{key}", username=caller.id, chunks=len(plan.chunks),
            chunk_strategy=ChunkStrategy(size=plan.size, overlap=plan.overlap), embedding_model=plan.model,
            content_type=plan.content_type, size=size,
        )
        try:
            self.table.put(record)
        except Exception:
            aws.client("s3").delete_object(Bucket=self.bucket, Key=key)
            raise
        self.jobs.submit(repository, record, plan.chunks)
        return record

    def resume(self, stale_after_s: float | None = None) -> int:
        """Restart the jobs whose process stopped beating (from their stored originals); returns how many."""
        stale_after_s = self.settings.resume_stale_s if stale_after_s is None else stale_after_s
        resumed = 0
        for record in self.table.unfinished():
            repository = self.catalog.repositories.get(record.repository_id)
            if repository is None or self.jobs.running(record.document_id):
                continue
            if time.time() - record.heartbeat_at < stale_after_s or not self.table.claim(record):
                continue
            try:
                bucket, key = record.bucket_and_key
                data = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
                chunks = chunk_pages(parse(data, record.document_name), record.chunk_strategy.size,
                                     record.chunk_strategy.overlap)
            except Exception as exc:  # noqa: BLE001 (recorded on the document)
                self.table.update(record, status=IngestionStatus.FAILED, error=f"could not resume ({type(exc).__name__})")
                continue
            log.info("resuming the ingest of %s/%s", record.repository_id, record.document_id)
            self.jobs.submit(repository, record, chunks)
            resumed += 1
        return resumed

    # documents ----------------------------------------------------------------------------------------------------
    def documents(self, caller: Caller, repository_id: str) -> list[DocumentRecord]:
        repository = self.catalog.get(repository_id, caller)
        return sorted(self.table.list(repository.id), key=lambda r: r.created_date, reverse=True)

    def document(self, caller: Caller, repository_id: str, document_id: str) -> DocumentRecord:
        repository = self.catalog.get(repository_id, caller)
        record = self.table.get(repository.id, document_id)
        if record is None:
            raise NotFoundError(f"document {document_id} does not exist in repository {repository_id}",
                                param="documentId")
        return record

    def delete_documents(self, caller: Caller, repository_id: str, document_ids: list[str]) -> dict[str, Any]:
        if not document_ids:
            raise InvalidInputError("documentIds is empty", param="documentIds")
        records = [self.document(caller, repository_id, d) for d in dict.fromkeys(document_ids)]
        foreign = [r.document_id for r in records if r.username != caller.id and not caller.is_admin]
        if foreign:
            raise PermissionDeniedError(f"only the uploader or an admin may delete {', '.join(foreign)}",
                                        param="documentIds")
        repository = self.catalog.get(repository_id, caller)
        store = self.catalog.store(repository)
        purged = 0
        for record in records:
            self.jobs.stop(record.document_id)
            purged += store.delete_document(record.document_id)
            bucket, key = record.bucket_and_key
            aws.client("s3").delete_object(Bucket=bucket, Key=key)
            self.table.delete(record.repository_id, record.document_id)
        return {"documentIds": [r.document_id for r in records], "recordsPurged": purged}

    # search -------------------------------------------------------------------------------------------------------
    def search(self, caller: Caller, repository_id: str, query: str | None, top_k: int,
               model: str | None = None) -> list[Hit]:
        repository = self.catalog.get(repository_id, caller)
        query = check_query(query, self.settings.max_query_chars)
        top_k = check_top_k(top_k, self.settings.max_top_k)
        chosen = self.embedding_model(repository, model)
        if not chosen:
            return []  # nothing ingested and no model named: nothing can match
        vector = self.gateway.embed(chosen, [query])[0]
        store = self.catalog.store(repository)
        info = store.info()
        if info is None:
            return []
        if vector.shape[0] != info.dimension:
            raise EmbeddingModelError(f"the embedding model {chosen} makes {vector.shape[0]}-dimensional vectors; this "
                                      f"repository holds {info.dimension}-dimensional ones (from {info.embedding_model})",
                                      param="modelName")
        return store.search(vector, top_k)

