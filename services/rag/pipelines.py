"""Automatic ingestion (LISA's pipelines): objects under a bucket prefix become documents of a collection (ingestion
type `auto`), a changed object is ingested again, and with `autoRemove` a deleted object's document goes too.

One code path, two sources of object events:
- in AWS the repository's stack routes the bucket's S3 events through EventBridge into an SQS queue of its own
  (providers/rag_pipeline.py), for its own event pipelines and its collections' (a collection change that alters
  them updates the stack); the api's ingest worker drains it (`drain`). A stage-config repository has no stack: its
  pipelines are listed as below;
- against the emulator, which delivers no notifications, the same worker lists each pipeline's prefix and compares
  it with what it ingested (`scan`), every `pipeline_poll_s`; a `daily` pipeline is scanned once a day either way.
Each object version becomes one document id (a hash of where it lies and its ETag), written on a condition, so two
api processes seeing the same event ingest it once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from core import aws, naming
from core.errors import InvalidInputError, LisaError
from core.rag import PipelineConfig, RepositoryRecord, is_live
from services.rag.documents import DocumentRecord
from services.rag.parsing import CONTENT_TYPES

log = logging.getLogger("lisa.rag.pipelines")
DAY_S = 24 * 3600


@dataclass(frozen=True)
class ObjectEvent:
    kind: Literal["created", "deleted"]
    bucket: str
    key: str
    etag: str = ""


@dataclass(frozen=True)
class Target:
    """A pipeline and the collection its objects go to."""

    repository: RepositoryRecord
    collection_id: str
    pipeline: PipelineConfig
    wired: bool = False  # a repository's event pipeline: its stack routes the bucket's events to a queue

    @property
    def name(self) -> str:
        return f"{self.repository.repository_id}/{self.collection_id}/{self.pipeline.s3_bucket}/{self.pipeline.s3_prefix}"


def pipeline_collection_id(repository: RepositoryRecord, pipeline: PipelineConfig) -> str | None:
    """The collection a pipeline fills: the one it names, else its embedding model's default collection (LISA keys a
    model's default collection by the model's id), else the repository's default one."""
    return pipeline.collection_id or pipeline.embedding_model or repository.default_collection_id


def check_pipeline_buckets(pipelines: list[PipelineConfig], allowed: list[str]) -> None:
    """Pipelines watch only the stage's ragPipelineBuckets: the api may read those and no other (400 otherwise)."""
    refused = sorted({p.s3_bucket for p in pipelines} - set(allowed))
    if refused:
        raise InvalidInputError(f"pipelines may watch only the stage's ragPipelineBuckets "
                                f"({', '.join(allowed) or 'none listed'}), not {', '.join(refused)}", param="pipelines")


def due(trigger: str, last_scan: float | None, now: float) -> bool:
    """A daily pipeline is listed once a day; an event one every round its events do not come through a queue."""
    return trigger != "daily" or last_scan is None or now - last_scan >= DAY_S


def watched(pipeline: PipelineConfig, bucket: str, key: str) -> bool:
    """An object the pipeline ingests: its bucket, under its prefix, of a supported type, not a folder marker."""
    suffix = "." + key.rsplit(".", 1)[-1].lower() if "." in key.rsplit("/", 1)[-1] else ""
    return bucket == pipeline.s3_bucket and key.startswith(pipeline.s3_prefix) and not key.endswith("/") \
        and suffix in CONTENT_TYPES


def auto_document_id(target: Target, key: str, etag: str) -> str:
    """One id per object version in a collection: an event seen twice (two processes, a retry) is ingested once."""
    digest = hashlib.sha256("\x00".join((target.repository.repository_id, target.collection_id,
                                         target.pipeline.s3_bucket, key, etag)).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16]))


def changes(listing: dict[str, str], known: dict[str, str]) -> list[ObjectEvent]:
    """What happened between what was ingested (`known`, key → ETag) and what is there (`listing`): new or changed
    objects are `created`, vanished ones `deleted`. Bucket-less: the caller adds it."""
    created = [ObjectEvent("created", "", key, etag) for key, etag in sorted(listing.items()) if known.get(key) != etag]
    deleted = [ObjectEvent("deleted", "", key, known[key]) for key in sorted(set(known) - set(listing))]
    return created + deleted


def event_from_message(body: str) -> ObjectEvent | None:
    """An S3 event as EventBridge delivers it to SQS ("Object Created" / "Object Deleted"); None for anything else."""
    try:
        message = json.loads(body)
        detail = message["detail"]
        kind = {"Object Created": "created", "Object Deleted": "deleted"}.get(message.get("detail-type"))
        bucket, key = detail["bucket"]["name"], detail["object"]["key"]
    except (ValueError, KeyError, TypeError):
        return None
    if kind is None or not isinstance(bucket, str) or not isinstance(key, str):
        return None
    return ObjectEvent(kind, bucket, unquote_plus(key), str(detail["object"].get("etag", "")).strip('"'))  # type: ignore[arg-type]


class PipelineWorker:
    """Applies object events to the pipelines they concern through the RagService (untyped here: it imports this
    module); `tick` is one round of the api's background poller."""

    def __init__(self, service: Any, *, mode: Literal["scan", "queue"] = "scan") -> None:
        self.service = service
        self.mode = mode
        self._last_scan: dict[str, float] = {}

    # what is watched ---------------------------------------------------------------------------------------------
    def targets(self) -> list[Target]:
        found = []
        catalog = self.service.catalog
        for repository in catalog.all():
            stacked = repository.source == "api"  # a runtime repository's stack routes its event pipelines
            for pipeline in repository.pipelines:
                collection = pipeline_collection_id(repository, pipeline)
                if collection:
                    found.append(Target(repository, collection, pipeline,
                                        wired=stacked and pipeline.trigger == "event"))
            for collection in filter(is_live, catalog.collections(repository)):
                found += [Target(repository, collection.collection_id, p, wired=stacked and p.trigger == "event")
                          for p in collection.pipelines]
        return found

    def ingested(self, target: Target) -> dict[str, DocumentRecord]:
        """The pipeline's documents by key (auto, from its bucket and under its prefix)."""
        prefix = f"s3://{target.pipeline.s3_bucket}/"
        documents = {}
        for record in self.service.table.in_collection(target.repository.repository_id, target.collection_id):
            if record.ingestion_type == "auto" and record.source.startswith(prefix):
                key = record.source[len(prefix):]
                if key.startswith(target.pipeline.s3_prefix):
                    documents[key] = record
        return documents

    # one event ---------------------------------------------------------------------------------------------------
    def handle(self, target: Target, event: ObjectEvent, known: dict[str, DocumentRecord] | None = None) -> str:
        """Apply one object event to the target; what was done ("ingested", "removed", "kept", "skipped")."""
        if not watched(target.pipeline, event.bucket, event.key):
            return "skipped"
        existing = (self.ingested(target) if known is None else known).get(event.key)
        if event.kind == "deleted":
            if existing is None or not target.pipeline.auto_remove:
                return "kept"
            self.service.remove_document(target.repository, existing)
            return "removed"
        etag = event.etag or self._etag(event)
        if existing is not None and existing.source_etag == etag:
            return "kept"
        try:
            record = self.service.ingest_object(
                target.repository.repository_id, target.collection_id, event.bucket, event.key,
                document_id=auto_document_id(target, event.key, etag), etag=etag,
                metadata=target.pipeline.metadata.model_dump(mode="json"), strategy=target.pipeline.chunking_strategy)
        except LisaError as exc:
            log.warning("pipeline %s: %s not ingested: %s", target.name, event.key, exc.message)
            return "skipped"
        if record is None:
            return "kept"  # another process took this version
        if existing is not None:
            self.service.remove_document(target.repository, existing)  # the object changed: its old version goes
        return "ingested"

    @staticmethod
    def _etag(event: ObjectEvent) -> str:
        return aws.client("s3").head_object(Bucket=event.bucket, Key=event.key)["ETag"].strip('"')

    # sources of events -------------------------------------------------------------------------------------------
    def scan(self, target: Target, known: dict[str, DocumentRecord]) -> list[ObjectEvent]:
        listing: dict[str, str] = {}
        pages = aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=target.pipeline.s3_bucket,
                                                                           Prefix=target.pipeline.s3_prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                if watched(target.pipeline, target.pipeline.s3_bucket, obj["Key"]):
                    listing[obj["Key"]] = obj["ETag"].strip('"')
        seen = {key: record.source_etag for key, record in known.items()}
        return [ObjectEvent(e.kind, target.pipeline.s3_bucket, e.key, e.etag) for e in changes(listing, seen)]

    def sweep(self, now: float | None = None) -> dict[str, int]:
        """One round of listings: every pipeline due (see `due`) is listed and its changes applied; counts of what
        was done."""
        now = time.time() if now is None else now
        done: dict[str, int] = {}
        for target in self.targets():
            if self.mode == "queue" and target.wired:
                continue  # its queue brings its events
            if not due(target.pipeline.trigger, self._last_scan.get(target.name), now):
                continue
            known = self.ingested(target)
            try:
                events = self.scan(target, known)
            except Exception as exc:  # noqa: BLE001 (a missing bucket must not stop the other pipelines)
                log.warning("pipeline %s: could not list its prefix (%s)", target.name, type(exc).__name__)
                continue
            self._last_scan[target.name] = now
            for event in events:
                outcome = self.handle(target, event, known)
                done[outcome] = done.get(outcome, 0) + 1
        return done

    def drain(self, queue_url: str, repository_id: str, wait_s: int = 10) -> int:
        """Apply the S3 events waiting in a repository's queue (AWS); how many messages were handled. A message is
        deleted once applied, so one that fails comes back after its visibility timeout."""
        sqs = aws.client("sqs")
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s)
        targets = [t for t in self.targets() if t.repository.repository_id == repository_id]
        handled = 0
        for message in answer.get("Messages", []):
            event = event_from_message(message.get("Body", ""))
            if event is not None:
                for target in targets:
                    self.handle(target, event)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
        return handled

    def tick(self) -> None:
        """One round of the poller: the listings due, then (queue mode) each wired repository's queue."""
        self.sweep()
        if self.mode == "queue":
            self._drain_all()

    def _drain_all(self) -> None:
        platform = self.service.platform
        for repository_id in sorted({t.repository.repository_id for t in self.targets() if t.wired}):
            name = naming.pipeline_queue(platform.deployment_name, platform.deployment_stage, repository_id)
            try:
                url = aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
            except Exception:  # noqa: BLE001 (its stack has not made it yet)
                continue
            while self.drain(url, repository_id, wait_s=0):
                pass
