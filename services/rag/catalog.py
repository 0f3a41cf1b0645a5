"""The stage's RAG repositories, who may use each, and the vector store behind each (opened on first use)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Callable, Protocol

from core import secrets as secret_store
from core.config import RagRepositoryConfig
from core.errors import NotFoundError, PermissionDeniedError
from core.platform import PlatformOutputs, RagStoreOutputs
from services.rag.errors import StoreUnavailableError
from services.rag.settings import RagSettings
from services.rag.stores.base import VectorStore


class Caller(Protocol):
    """What the catalog needs of a principal (services.identity.principal.Principal fits)."""

    id: str
    groups: tuple[str, ...]
    is_admin: bool


@dataclass(frozen=True)
class Repository:
    config: RagRepositoryConfig
    outputs: RagStoreOutputs

    @property
    def id(self) -> str:
        return self.config.repository_id

    def describe(self) -> dict:
        c = self.config
        return {"repositoryId": c.repository_id, "type": c.type, "allowedGroups": list(c.allowed_groups),
                "chunkSize": c.chunk_size, "chunkOverlap": c.chunk_overlap,
                "defaultEmbeddingModel": c.default_embedding_model}


def can_use(caller: Caller, config: RagRepositoryConfig) -> bool:
    return caller.is_admin or not config.allowed_groups or bool(set(caller.groups) & set(config.allowed_groups))


StoreFactory = Callable[[Repository], VectorStore]


def rds_dsn(outputs: RagStoreOutputs) -> str:
    """The DSN of a repository's RDS instance, with the credentials from its secret."""
    from psycopg.conninfo import make_conninfo

    if not outputs.endpoint or not outputs.credentials_secret_arn:
        raise StoreUnavailableError(f"repository {outputs.repository.repository_id} has no database endpoint configured")
    secret = json.loads(secret_store.read(outputs.credentials_secret_arn))
    return make_conninfo(host=outputs.endpoint, port=outputs.port or 5432, dbname=outputs.database or "postgres",
                         user=secret["username"], password=secret["password"], sslmode="require")


class DefaultStores:
    """pgvector stores share one connection pool per database; OpenSearch stores one client per endpoint."""

    def __init__(self, platform: PlatformOutputs, settings: RagSettings) -> None:
        self.platform = platform
        self.settings = settings
        self._pools: dict[str, object] = {}
        self._clients: dict[str, object] = {}
        self._lock = threading.Lock()

    def __call__(self, repository: Repository) -> VectorStore:
        if repository.config.type == "pgvector":
            from services.rag.stores.pgvector import PgVectorStore, open_pool

            dsn = self.settings.pg_dsn or rds_dsn(repository.outputs)
            with self._lock:
                pool = self._pools.get(dsn)
                if pool is None:
                    pool = self._pools[dsn] = open_pool(dsn, self.settings.pg_pool_size, self.settings.hnsw_ef_search)
            return PgVectorStore(repository.id, pool, m=self.settings.hnsw_m,  # type: ignore[arg-type]
                                 ef_construction=self.settings.hnsw_ef_construction)
        from services.rag.stores.opensearch import OpenSearchStore, local_client, opensearch_client

        endpoint = self.settings.opensearch_url or repository.outputs.endpoint
        if not endpoint:
            raise StoreUnavailableError(f"repository {repository.id} has no OpenSearch endpoint configured")
        with self._lock:
            client = self._clients.get(endpoint)
            if client is None:
                client = self._clients[endpoint] = (local_client(endpoint) if self.settings.opensearch_url
                                                     else opensearch_client(endpoint, self.platform.region))
        return OpenSearchStore(repository.id, client)  # type: ignore[arg-type]

    def close(self) -> None:
        for resource in [*self._pools.values(), *self._clients.values()]:
            resource.close()  # type: ignore[attr-defined]


class Catalog:
    def __init__(self, platform: PlatformOutputs, store_factory: StoreFactory) -> None:
        self.repositories = {s.repository.repository_id: Repository(s.repository, s) for s in platform.rag_stores}
        self.store_factory = store_factory
        self._stores: dict[str, VectorStore] = {}
        self._lock = threading.Lock()

    def visible(self, caller: Caller) -> list[Repository]:
        return [r for r in self.repositories.values() if can_use(caller, r.config)]

    def get(self, repository_id: str, caller: Caller) -> Repository:
        repository = self.repositories.get(repository_id)
        if repository is None:
            raise NotFoundError(f"repository {repository_id} does not exist", param="repositoryId")
        if not can_use(caller, repository.config):
            raise PermissionDeniedError(f"you may not use repository {repository_id}", param="repositoryId")
        return repository

    def store(self, repository: Repository) -> VectorStore:
        with self._lock:
            store = self._stores.get(repository.id)
            if store is None:
                store = self._stores[repository.id] = self.store_factory(repository)
            return store

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        close = getattr(self.store_factory, "close", None)
        if close:
            close()
