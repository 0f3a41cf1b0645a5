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


UNFINISHED = (IngestionStatus.PENDING, IngestionStatus.IN_PROGRESS)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ChunkStrategy(CamelModel):
    model_config = ConfigDict(extra="ignore")
    type: str = "fixed"
    size: int
    overlap: int


class DocumentRecord(CamelModel):
    model_config = ConfigDict(extra="ignore")

    repository_id: str
    document_id: str
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
    upload_date: str = Field(default_factory=now_iso)
    created_date: str = Field(default_factory=now_iso)
    updated_date: str = Field(default_factory=now_iso)
    heartbeat_at: float = Field(default_factory=time.time)

    @property
    def bucket_and_key(self) -> tuple[str, str]:
        bucket, _, key = self.source.removeprefix("s3://").partition("/")
        return bucket, key

    def job(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id, "documentId": self.document_id, "documentName": self.document_name,
            "status": self.status.value, "chunks": self.chunks, "chunksEmbedded": self.chunks_embedded,
            "error": self.error, "s3Path": self.source, "embeddingModel": self.embedding_model,
            "createdDate": self.created_date, "updatedDate": self.updated_date,
        }


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

    def get(self, repository_id: str, document_id: str) -> DocumentRecord | None:
        item = self.table.get({"repositoryId": repository_id, "documentId": document_id}, consistent=True)
        return DocumentRecord.model_validate(item) if item else None

    def list(self, repository_id: str) -> list[DocumentRecord]:
        items = self.table.query("repositoryId = :r", values={":r": repository_id}, consistent=True)
        return [DocumentRecord.model_validate(i) for i in items]

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
