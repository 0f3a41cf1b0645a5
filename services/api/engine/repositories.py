"""Repository stacks: each repository made through the api (`POST /repository`) is a Pulumi stack of its own,
`<deployment>-<stage>-repository-<id>`, deployed by background jobs through the same Automation API path (and the
same warm provider host) as the model stacks.

A job follows the repository's record: CREATE_IN_PROGRESS / UPDATE_IN_PROGRESS → `up` of the stack (its store:
the pgvector table and the default collection's HNSW index, or the default collection's OpenSearch index) →
CREATE_COMPLETE / UPDATE_COMPLETE, or CREATE_FAILED / UPDATE_FAILED with the reason; DELETE_IN_PROGRESS → every
collection's documents, originals and vectors removed, then `destroy` + `remove` of the stack, then the record
(DELETE_FAILED with the reason if anything fails). Jobs are idempotent, so at start the engine resumes every
repository left in progress. One job per repository at a time; a request arriving meanwhile runs it again after.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import pulumi

from core.platform import PlatformOutputs
from core.rag import REPOSITORY_TRANSITIONAL, CollectionRecord, RepositoryRecord, VectorStoreStatus, is_live
from core import naming
from providers.rag_pipeline import PipelineEvents
from providers.rag_repository import OpenSearchCollectionIndex, PgVectorRepositoryTable
from providers.rag_store_schema import index_name
from services.api.engine.events import EventLog, failure_reason
from services.api.engine.jobs import _Collector, preview_stack
from services.api.engine.stacks import ModelStacks, describe_command_error
from services.rag.service import RagService

log = logging.getLogger("lisa.engine.repositories")


def pg_connection(record: RepositoryRecord, platform: PlatformOutputs, local_dsn: str | None) -> dict[str, Any]:
    """Where a repository's table lives, as the provider's input (never a password: a secret id at most)."""
    rds = record.rds_config
    if rds is not None and rds.db_host:
        return {"host": rds.db_host, "port": rds.db_port, "dbname": rds.db_name, "user": rds.username,
                "passwordSecretId": rds.password_secret_id}
    if local_dsn:
        return {"dsn": local_dsn}
    shared = next((s for s in platform.rag_stores if s.repository.type == "pgvector"), None)
    if shared is None or not shared.endpoint:
        raise ValueError("the platform has no shared pgvector database: give the repository rdsConfig.dbHost")
    return {"host": shared.endpoint, "port": shared.port or 5432, "dbname": shared.database or "postgres",
            "user": shared.repository.rds_config.username if shared.repository.rds_config else "postgres",
            "passwordSecretId": shared.credentials_secret_arn}


def os_connection(record: RepositoryRecord, platform: PlatformOutputs, local_url: str | None) -> dict[str, Any]:
    if record.opensearch_config is not None and record.opensearch_config.endpoint:
        return {"endpoint": record.opensearch_config.endpoint, "region": platform.region, "signed": True}
    if local_url:
        return {"endpoint": local_url, "signed": False}
    shared = next((s for s in platform.rag_stores if s.repository.type == "opensearch"), None)
    if shared is None or not shared.endpoint:
        raise ValueError("the platform has no shared OpenSearch domain: give the repository opensearchConfig.endpoint")
    return {"endpoint": shared.endpoint, "region": platform.region, "signed": True}


def pipeline_rules(record: RepositoryRecord, name: str, stage: str,
                   collections: Iterable[CollectionRecord] = ()) -> list[dict[str, str]]:
    """One EventBridge rule per event pipeline of the repository and of its live collections (deployment `name`)."""
    rules = [{"name": naming.pipeline_rule(name, stage, record.repository_id, i), "bucket": p.s3_bucket,
              "prefix": p.s3_prefix} for i, p in enumerate(record.pipelines) if p.trigger == "event"]
    for collection in collections:
        if is_live(collection):
            rules += [{"name": naming.collection_pipeline_rule(name, stage, record.repository_id,
                                                               collection.collection_id, i),
                       "bucket": p.s3_bucket, "prefix": p.s3_prefix}
                      for i, p in enumerate(collection.pipelines) if p.trigger == "event"]
    return rules


def repository_program(record: RepositoryRecord, connection: dict[str, Any], dimension: int | None, *,
                       m: int, ef_construction: int, queue_name: str = "",
                       rules: list[dict[str, str]] | None = None) -> Callable[[], None]:
    """The repository's store (the default collection's index when the repository has an embedding model) and, for
    event pipelines, the queue their buckets' events reach."""
    collection = record.default_collection_id

    def program() -> None:
        if record.type == "pgvector":
            collections = [{"collectionId": collection, "dimension": dimension, "embeddingModel": collection}] \
                if collection and dimension else []
            PgVectorRepositoryTable("table", repository_id=record.repository_id, connection=connection,
                                    collections=collections, m=m, ef_construction=ef_construction)
        elif collection and dimension:
            OpenSearchCollectionIndex("default-index", index=index_name(record.repository_id, collection),
                                      connection=connection, dimension=dimension, embedding_model=collection,
                                      m=m, ef_construction=ef_construction)
        if rules:
            PipelineEvents("pipelines", queue_name=queue_name, rules=rules)
        pulumi.export("repositoryId", record.repository_id)

    return program


class RepositoryEngine:
    def __init__(self, platform: PlatformOutputs, stacks: ModelStacks, rag: Callable[[], RagService | None], *,
                 max_jobs: int = 4, events_per_repository: int = 200) -> None:
        self.platform = platform
        self.stacks = stacks
        self.rag = rag
        self.events = EventLog(events_per_repository)
        self._pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="repository-job")
        self._active: dict[str, bool] = {}
        self._changed = threading.Condition()

    def _service(self) -> RagService:
        service = self.rag()
        if service is None:
            raise RuntimeError("RAG is not configured on this api")
        return service

    # scheduling ------------------------------------------------------------------------------------------------
    def submit(self, repository_id: str) -> None:
        with self._changed:
            if repository_id in self._active:
                self._active[repository_id] = True
                return
            self._active[repository_id] = False
        self._pool.submit(self._run, repository_id)

    def resume(self) -> list[str]:
        service = self.rag()
        if service is None:
            return []
        resumed = [r.repository_id for r in service.catalog.repositories.list() if r.status in REPOSITORY_TRANSITIONAL]
        for repository_id in resumed:
            self.stacks.cancel(self.platform.repository_stack_name(repository_id))
            self.submit(repository_id)
        return resumed

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: not self._active, timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, repository_id: str) -> None:
        while True:
            try:
                self._reconcile(repository_id)
            except Exception:  # noqa: BLE001 (a job must never kill its worker; the record says what happened)
                log.exception("repository %s: the deployment job crashed", repository_id)
            with self._changed:
                if not self._active.get(repository_id):
                    self._active.pop(repository_id, None)
                    self._changed.notify_all()
                    return
                self._active[repository_id] = False

    # one job ---------------------------------------------------------------------------------------------------
    def _program(self, record: RepositoryRecord) -> Callable[[], None]:
        service = self._service()
        settings = service.settings
        dimension = None
        if record.default_collection_id:
            dimension = int(service.gateway.embed(record.default_collection_id, ["dimension probe"]).shape[1])
        wiring = {"rules": pipeline_rules(record, self.platform.deployment_name, self.platform.deployment_stage,
                                   service.catalog.collections(record)), "queue_name": naming.pipeline_queue(
            self.platform.deployment_name, self.platform.deployment_stage, record.repository_id)}
        if record.type == "pgvector":
            return repository_program(record, pg_connection(record, self.platform, settings.pg_dsn), dimension,
                                      m=settings.hnsw_m, ef_construction=settings.hnsw_ef_construction, **wiring)
        return repository_program(record, os_connection(record, self.platform, settings.opensearch_url), dimension,
                                  m=settings.opensearch_m, ef_construction=settings.opensearch_ef_construction,
                                  **wiring)

    def _reconcile(self, repository_id: str) -> None:
        service = self._service()
        record = service.catalog.repositories.get(repository_id)
        if record is None or record.status not in REPOSITORY_TRANSITIONAL or record.source != "api":
            return
        stack_name = self.platform.repository_stack_name(repository_id)
        collector = _Collector(self.events, repository_id)
        self.events.note(repository_id, f"{record.status.value}")
        if record.status is VectorStoreStatus.DELETE_IN_PROGRESS:
            try:
                service.purge_repository(record)
                self.stacks.destroy_and_remove(stack_name, collector)
            except Exception as exc:  # noqa: BLE001 (the reason goes on the record)
                reason = failure_reason(collector.errors, describe_command_error(exc))
                service.settle(repository_id, VectorStoreStatus.DELETE_FAILED, f"delete failed: {reason}")
                return
            service.forget_repository(repository_id)
            return
        creating = record.status is VectorStoreStatus.CREATE_IN_PROGRESS
        try:
            self.stacks.up(stack_name, self._program(record), collector)
        except Exception as exc:  # noqa: BLE001
            reason = failure_reason(collector.errors, describe_command_error(exc))
            failed = VectorStoreStatus.CREATE_FAILED if creating else VectorStoreStatus.UPDATE_FAILED
            service.settle(repository_id, failed, f"{'create' if creating else 'update'} failed: {reason}")
            return
        done = VectorStoreStatus.CREATE_COMPLETE if creating else VectorStoreStatus.UPDATE_COMPLETE
        service.settle(repository_id, done)

    # previews --------------------------------------------------------------------------------------------------
    def preview(self, record: RepositoryRecord, *, new: bool = False) -> dict[str, Any]:
        """The Pulumi preview of deploying `record` (not saved): what its stack would create or change."""
        repository_id = record.repository_id
        stack_name = self.platform.repository_stack_name(repository_id)
        return preview_stack(self.stacks, stack_name, lambda: self._program(record),
                             _Collector(self.events, repository_id), new=new)
