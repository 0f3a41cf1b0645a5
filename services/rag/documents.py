"""RAG document records (the rag-documents table, key repositoryId + documentId) and where their files live in S3.

A record is also its ingest job: `status` goes INGESTION_PENDING → INGESTION_IN_PROGRESS (`chunksEmbedded` rising)
→ INGESTION_COMPLETED | INGESTION_FAILED (`error`). Updates are conditional on the record still existing, so a job
whose document was deleted meanwhile learns it at its next progress write and stops. While a job runs, its process
writes `heartbeatAt` (unix seconds) every few seconds; an unfinished record whose heartbeat stopped belongs to a
process that died, and the first api process to `claim` it (a conditional write) runs the job again.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from pydantic import ConfigDict, Field

from core.dynamo import ConditionFailed, Table
from core.schema import CamelModel


class IngestionStatus(str, Enum):
    PENDING = "INGESTION_PENDING"
    IN_PROGRESS = "INGESTION_IN_PROGRESS"
    COMPLETED = "INGESTION_COMPLETED"
    FAILED = "INGESTION_FAILED"
    DELETE_PENDING = "DELETE_PENDING"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_COMPLETED = "DELETE_COMPLETED"
    DELETE_FAILED = "DELETE_FAILED"


UNFINISHED = (IngestionStatus.PENDING, IngestionStatus.IN_PROGRESS)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ChunkStrategy(CamelModel):
    model_config = ConfigDict(extra="ignore")
    type: str = "fixed"
    size: int = 0  # 0 for type "none"
    overlap: int = 0


class DocumentRecord(CamelModel):
    model_config = ConfigDict(extra="ignore")

    repository_id: str
    document_id: str
    collection_id: str = "default"
    pk: str = ""  # LISA's "<repositoryId>#<collectionId>" (the byCollection index)
    job_id: str
    document_name: str
    source: str  # s3://bucket/key of the original file
    username: str  # the principal id of whoever ingested it
    status: IngestionStatus = IngestionStatus.PENDING
    chunks: int = 0
    chunks_embedded: int = 0
    chunk_strategy: ChunkStrategy
    embedding_model: str
    content_type: str
    size: int
    error: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)  # LISA's {"tags": [...], "customFields": {...}}
    ingestion_type: str = "manual"  # manual | auto (a pipeline) | existing
    source_etag: str = ""  # a pipeline's object version (its ETag): a changed object is ingested again
    upload_date: str = Field(default_factory=now_iso)
    created_date: str = Field(default_factory=now_iso)
    updated_date: str = Field(default_factory=now_iso)
    heartbeat_at: float = Field(default_factory=time.time)

    @property
    def bucket_and_key(self) -> tuple[str, str]:
        bucket, _, key = self.source.removeprefix("s3://").partition("/")
        return bucket, key

    def model_post_init(self, _: Any) -> None:
        if not self.pk:
            self.pk = collection_key(self.repository_id, self.collection_id)

    def job(self) -> dict[str, Any]:
        """The short job of /bulk and DELETE answers, as LISA: {jobId, documentId, status, s3Path} (+ name)."""
        return {"jobId": self.job_id, "documentId": self.document_id, "status": self.status.value,
                "s3Path": self.source, "documentName": self.document_name}

    def rag_document(self) -> dict[str, Any]:
        """LISA's RagDocument (snake_case), plus the ingest's progress and the file's type and size."""
        return {
            "pk": self.pk, "document_id": self.document_id, "repository_id": self.repository_id,
            "collection_id": self.collection_id, "document_name": self.document_name, "source": self.source,
            "username": self.username, "chunk_strategy": self.chunk_strategy.model_dump(mode="json"),
            "ingestion_type": self.ingestion_type, "upload_date": _epoch_ms(self.upload_date), "chunks": self.chunks,
            "metadata": self.metadata, "status": self.status.value, "chunks_embedded": self.chunks_embedded,
            "embedding_model": self.embedding_model, "content_type": self.content_type, "size": self.size,
            "error_message": self.error,
        }

    def ingestion_job(self, status: IngestionStatus | None = None, job_type: str = "INGEST") -> dict[str, Any]:
        """LISA's IngestionJob (snake_case)."""
        return {
            "id": self.job_id, "s3_path": self.source, "collection_id": self.collection_id,
            "document_id": self.document_id, "repository_id": self.repository_id,
            "chunk_strategy": self.chunk_strategy.model_dump(mode="json"), "embedding_model": self.embedding_model,
            "username": self.username, "ingestion_type": self.ingestion_type,
            "status": (status or self.status).value, "created_date": self.created_date, "error_message": self.error,
            "document_name": self.document_name, "auto": self.ingestion_type == "auto", "metadata": self.metadata,
            "job_type": job_type, "collection_deletion": False, "s3_paths": [self.source],
            "document_ids": [self.document_id], "chunks": self.chunks, "chunks_embedded": self.chunks_embedded,
            "updated_date": self.updated_date,
        }


def collection_key(repository_id: str, collection_id: str) -> str:
    return f"{repository_id}#{collection_id}"


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def safe_file_name(name: str) -> str:
    """The last path segment of an uploaded file name, without control characters, at most 200 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()
    if base in ("", ".", ".."):
        return "document"
    if len(base) > 200:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: 200 - len(suffix) - 1] + dot + suffix) if dot and len(suffix) < 16 else base[:200]
    return base


def document_key(repository_id: str, document_id: str, file_name: str) -> str:
    return f"repositories/{repository_id}/{document_id}/{file_name}"


def upload_prefix(principal_id: str) -> str:
    """Where a user's presigned uploads go; the id is hashed so it says nothing about the user and fits any key."""
    return f"uploads/{hashlib.sha256(principal_id.encode()).hexdigest()[:24]}/"


class DocumentTable:
    def __init__(self, table_name: str) -> None:
        self.table = Table(table_name)

    @staticmethod
    def _key(record: DocumentRecord) -> dict[str, str]:
        return {"repositoryId": record.repository_id, "documentId": record.document_id}

    def put(self, record: DocumentRecord) -> None:
        item = record.model_dump(mode="json", exclude_none=True)
        item["heartbeatAt"] = _stamp(record.heartbeat_at)
        self.table.put(item)

    def create(self, record: DocumentRecord) -> bool:
        """Put the record unless one of its id exists; False when it did."""
        item = record.model_dump(mode="json", exclude_none=True)
        item["heartbeatAt"] = _stamp(record.heartbeat_at)
        try:
            self.table.put(item, condition="attribute_not_exists(documentId)")
        except ConditionFailed:
            return False
        return True

    def get(self, repository_id: str, document_id: str) -> DocumentRecord | None:
        item = self.table.get({"repositoryId": repository_id, "documentId": document_id}, consistent=True)
        return DocumentRecord.model_validate(item) if item else None

    def list(self, repository_id: str) -> list[DocumentRecord]:
        items = self.table.query("repositoryId = :r", values={":r": repository_id}, consistent=True)
        return [DocumentRecord.model_validate(i) for i in items]

    def page(self, repository_id: str, collection_id: str, size: int,
             after: dict[str, str] | None) -> tuple[list[DocumentRecord], dict[str, str] | None]:
        """One page of a collection's documents (LISA's order: by document id) and the key to pass for the next."""
        items = list(self.table.query("pk = :pk", values={":pk": collection_key(repository_id, collection_id)},
                                      index="byCollection", limit=size + 1, start_key=after))
        records = [DocumentRecord.model_validate(i) for i in items[:size]]
        last = records[-1] if len(items) > size else None
        return records, ({"pk": last.pk, "documentId": last.document_id, "repositoryId": last.repository_id}
                         if last else None)

    def count(self, repository_id: str, collection_id: str) -> int:
        return sum(1 for _ in self.table.query("pk = :pk", values={":pk": collection_key(repository_id, collection_id)},
                                               index="byCollection", projection=["documentId"]))

    def in_collection(self, repository_id: str, collection_id: str) -> list[DocumentRecord]:
        items = self.table.query("pk = :pk", values={":pk": collection_key(repository_id, collection_id)},
                                 index="byCollection")
        return [DocumentRecord.model_validate(i) for i in items]

    def jobs_page(self, repository_id: str, since_iso: str, size: int, after: dict[str, str] | None,
                  username: str | None) -> tuple[list[DocumentRecord], dict[str, str] | None]:
        """Newest first, created since `since_iso`, only `username`'s when given."""
        filter_, values = None, {":r": repository_id, ":since": since_iso}
        if username is not None:
            filter_, values[":u"] = "username = :u", username
        items = list(self.table.query("repositoryId = :r AND createdDate >= :since", values=values, filter=filter_,
                                      index="byCreated", forward=False, limit=size + 1, start_key=after))
        records = [DocumentRecord.model_validate(i) for i in items[:size]]
        last = records[-1] if len(items) > size else None
        return records, ({"repositoryId": last.repository_id, "documentId": last.document_id,
                          "createdDate": last.created_date} if last else None)

    def unfinished(self) -> list[DocumentRecord]:
        """Records whose ingest had not ended (to resume after a restart)."""
        statuses = {f":s{i}": s.value for i, s in enumerate(UNFINISHED)}
        items = self.table.scan(filter=f"#s IN ({', '.join(statuses)})", names={"#s": "status"}, values=statuses)
        return [DocumentRecord.model_validate(i) for i in items]

    def update(self, record: DocumentRecord, *, status: IngestionStatus, chunks_embedded: int | None = None,
               error: str | None = None) -> bool:
        """Set the status (and progress/error) if the record still exists; False when it is gone."""
        changes: dict[str, Any] = {"status": status.value, "updatedDate": now_iso()}
        if chunks_embedded is not None:
            changes["chunksEmbedded"] = chunks_embedded
        if error is not None:
            changes["error"] = error[:1000]
        return self._conditional(record, changes, "attribute_exists(documentId)")

    def heartbeat(self, record: DocumentRecord) -> bool:
        return self._conditional(record, {"heartbeatAt": _stamp(time.time())}, "attribute_exists(documentId)")

    def claim(self, record: DocumentRecord) -> bool:
        """Take over an orphaned job: True for exactly one caller while the heartbeat it saw is unchanged."""
        return self._conditional(record, {"heartbeatAt": _stamp(time.time())}, "heartbeatAt = :seen",
                                 {":seen": _stamp(record.heartbeat_at)})

    def _conditional(self, record: DocumentRecord, changes: dict[str, Any], condition: str,
                     values: dict[str, Any] | None = None) -> bool:
        try:
            self.table.update(self._key(record), set=changes, condition=condition, values=values)
        except ConditionFailed:
            return False
        return True

    def delete(self, repository_id: str, document_id: str) -> None:
        self.table.delete({"repositoryId": repository_id, "documentId": document_id})


def _stamp(value: float) -> float:
    # Millisecond stamps: `claim` compares the stored value with the one it read, so both must round alike.
    return round(value, 3)


class Throttle:
    """True at most once per `interval_s` (progress writes during ingest)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last = time.monotonic()

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            return True
        return False
