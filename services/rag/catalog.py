"""The RAG repositories and their collections (from their tables, cached briefly), who may use each, and the vector
store behind each collection (opened on first use).

Access (LISA's rules): a repository is used by admins, RAG admins, and members of its `allowedGroups` (everyone
signed in when empty); a collection additionally by the members of its own `allowedGroups`. Managing collections and
documents is for admins and RAG admins; creating and deleting repositories for admins.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Callable, Protocol

from core import secrets as secret_store
from core.access import may_use
from core.errors import ConflictError, NotFoundError, PermissionDeniedError
from core.platform import PlatformOutputs, RagStoreOutputs
from core.rag import REPOSITORY_USABLE, CollectionRecord, RepositoryRecord, default_collection, is_live
from services.rag.errors import StoreUnavailableError
from services.rag.records import CollectionTable, RepositoryTable
from services.rag.settings import RagSettings
from services.rag.stores.base import VectorStore


class Caller(Protocol):
    """What the catalog needs of a principal (services.identity.principal.Principal fits)."""

    id: str
    groups: tuple[str, ...]
    is_admin: bool
    is_rag_admin: bool


def can_use(caller: Caller, allowed_groups: list[str]) -> bool:
    return may_use(caller.groups, allowed_groups, is_admin=caller.is_admin or caller.is_rag_admin)


def require_rag_admin(caller: Caller, what: str) -> None:
    if not (caller.is_admin or caller.is_rag_admin):
        raise PermissionDeniedError(f"only admins and RAG admins may {what}")


def require_admin(caller: Caller, what: str) -> None:
    if not caller.is_admin:
        raise PermissionDeniedError(f"only admins may {what}")


StoreFactory = Callable[[RepositoryRecord, str], VectorStore]


def rds_dsn(outputs: RagStoreOutputs) -> str:
    """The DSN of a stage repository's RDS instance, with the credentials from its secret."""
    from psycopg.conninfo import make_conninfo

    if not outputs.endpoint or not outputs.credentials_secret_arn:
        raise StoreUnavailableError(f"repository {outputs.repository.repository_id} has no database endpoint configured")
    secret = json.loads(secret_store.read(outputs.credentials_secret_arn))
    return make_conninfo(host=outputs.endpoint, port=outputs.port or 5432, dbname=outputs.database or "postgres",
                         user=secret["username"], password=secret["password"], sslmode="require")


def existing_db_dsn(repository: RepositoryRecord) -> str:
    """The DSN of the database a repository's rdsConfig names (`dbHost`; password in `passwordSecretId`)."""
    from psycopg.conninfo import make_conninfo

    rds = repository.rds_config
    assert rds is not None and rds.db_host
    password = None
    if rds.password_secret_id:
        value = secret_store.read(rds.password_secret_id)
        try:
            password = json.loads(value).get("password")
        except (ValueError, AttributeError):
            password = value
    return make_conninfo(host=rds.db_host, port=rds.db_port, dbname=rds.db_name, user=rds.username,
                         password=password, sslmode="require")


class DefaultStores:
    """pgvector stores share one connection pool per database; OpenSearch stores one client per endpoint."""

    def __init__(self, platform: PlatformOutputs, settings: RagSettings) -> None:
        self.platform = platform
        self.settings = settings
        self._pools: dict[str, object] = {}
        self._clients: dict[str, object] = {}
        self._lock = threading.Lock()

    def pool(self, repository: RepositoryRecord):
        from services.rag.stores.pgvector import open_pool

        dsn = self.settings.pg_dsn or self._dsn(repository)
        with self._lock:
            pool = self._pools.get(dsn)
            if pool is None:
                pool = self._pools[dsn] = open_pool(dsn, self.settings.pg_pool_size, self.settings.hnsw_ef_search)
        return pool

    def _dsn(self, repository: RepositoryRecord) -> str:
        if repository.rds_config is not None and repository.rds_config.db_host:
            return existing_db_dsn(repository)
        outputs = self.platform.repository(repository.repository_id)
        if outputs is not None:
            return rds_dsn(outputs)
        if self.platform.rag_stores:  # the core stack's databases: the first pgvector one is the shared default
            shared = next((s for s in self.platform.rag_stores if s.repository.type == "pgvector"), None)
            if shared is not None:
                return rds_dsn(shared)
        raise StoreUnavailableError(f"repository {repository.repository_id} has no database: give it rdsConfig.dbHost")

    def client(self, repository: RepositoryRecord):
        from services.rag.stores.opensearch import local_client, opensearch_client

        endpoint = self.settings.opensearch_url or self._endpoint(repository)
        with self._lock:
            client = self._clients.get(endpoint)
            if client is None:
                client = self._clients[endpoint] = (local_client(endpoint) if self.settings.opensearch_url
                                                     else opensearch_client(endpoint, self.platform.region))
        return client

    def _endpoint(self, repository: RepositoryRecord) -> str:
        if repository.opensearch_config is not None and repository.opensearch_config.endpoint:
            return repository.opensearch_config.endpoint
        outputs = self.platform.repository(repository.repository_id)
        if outputs is None:  # the core stack's domains: the first OpenSearch one is the shared default
            outputs = next((s for s in self.platform.rag_stores if s.repository.type == "opensearch"), None)
        if outputs is None or not outputs.endpoint:
            raise StoreUnavailableError(f"repository {repository.repository_id} has no OpenSearch endpoint: give it "
                                        "opensearchConfig.endpoint")
        return outputs.endpoint

    def __call__(self, repository: RepositoryRecord, collection_id: str) -> VectorStore:
        s = self.settings
        if repository.type == "pgvector":
            from services.rag.stores.pgvector import PgVectorStore

            return PgVectorStore(repository.repository_id, self.pool(repository), collection_id=collection_id,
                                 m=s.hnsw_m, ef_construction=s.hnsw_ef_construction)
        from services.rag.stores.opensearch import OpenSearchStore

        return OpenSearchStore(repository.repository_id, self.client(repository), collection_id=collection_id,
                               m=s.opensearch_m, ef_construction=s.opensearch_ef_construction,
                               ef_search=s.opensearch_ef_search)

    def close(self) -> None:
        for resource in [*self._pools.values(), *self._clients.values()]:
            resource.close()  # type: ignore[attr-defined]


class _Cached:
    """A value re-read at most every `ttl_s` (repositories and collections change rarely; every request reads them)."""

    def __init__(self, read: Callable[[], object], ttl_s: float) -> None:
        self.read, self.ttl_s = read, ttl_s
        self._value: object = None
        self._at = float("-inf")
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if time.monotonic() - self._at > self.ttl_s:
                self._value, self._at = self.read(), time.monotonic()
            return self._value

    def forget(self) -> None:
        with self._lock:
            self._at = float("-inf")


class Catalog:
    def __init__(self, platform: PlatformOutputs, store_factory: StoreFactory, *, ttl_s: float = 2.0) -> None:
        self.platform = platform
        self.repositories = RepositoryTable(platform.tables.rag_repositories)
        self.collection_table = CollectionTable(platform.tables.rag_collections)
        self.store_factory = store_factory
        self._records = _Cached(lambda: {r.repository_id: r for r in self.repositories.list()}, ttl_s)
        self._collections = _Cached(self._read_collections, ttl_s)
        self._stores: dict[tuple[str, str], VectorStore] = {}
        self._lock = threading.Lock()

    def _read_collections(self) -> dict[str, dict[str, CollectionRecord]]:
        grouped: dict[str, dict[str, CollectionRecord]] = {}
        for record in self.collection_table.all():
            grouped.setdefault(record.repository_id, {})[record.collection_id] = record
        return grouped

    def changed(self) -> None:
        """Forget the cached tables (after this process changed them)."""
        self._records.forget()
        self._collections.forget()

    # repositories ---------------------------------------------------------------------------------------------
    def all(self) -> list[RepositoryRecord]:
        return list(self._records.get().values())

    def visible(self, caller: Caller) -> list[RepositoryRecord]:
        return [r for r in self.all() if can_use(caller, r.allowed_groups)]

    def find(self, repository_id: str) -> RepositoryRecord | None:
        record = self._records.get().get(repository_id)
        if record is None:  # made by another process since the cache was read
            record = self.repositories.get(repository_id)
            if record is not None:
                self._records.forget()
        return record

    def get(self, repository_id: str, caller: Caller, *, usable: bool = True) -> RepositoryRecord:
        record = self.find(repository_id)
        if record is None:
            raise NotFoundError(f"repository {repository_id} does not exist", param="repositoryId")
        if not can_use(caller, record.allowed_groups):
            raise PermissionDeniedError(f"you may not use repository {repository_id}", param="repositoryId")
        if usable and record.status not in REPOSITORY_USABLE:
            raise ConflictError(f"repository {repository_id} is {record.status.value}: it cannot be used now")
        return record

    # collections ----------------------------------------------------------------------------------------------
    def collections(self, repository: RepositoryRecord) -> list[CollectionRecord]:
        return sorted(self._collections.get().get(repository.repository_id, {}).values(),
                      key=lambda c: (not c.default, c.created_at))

    def find_collection(self, repository: RepositoryRecord, collection_id: str) -> CollectionRecord | None:
        record = self._collections.get().get(repository.repository_id, {}).get(collection_id)
        if record is None:
            record = self.collection_table.get(repository.repository_id, collection_id)
            if record is not None:
                self._collections.forget()
        return record

    def collection(self, repository: RepositoryRecord, collection_id: str | None, caller: Caller) -> CollectionRecord:
        """The collection named, else the repository's default one; 404 / 403 as for repositories."""
        wanted = collection_id or repository.default_collection_id
        if not wanted:
            raise NotFoundError(f"repository {repository.repository_id} has no default collection: name a collectionId "
                                "or an embedding model", param="collectionId")
        record = self.find_collection(repository, wanted)
        if record is None and wanted == repository.default_collection_id:
            record = self.ensure_default(repository)
        if record is None or not is_live(record):
            raise NotFoundError(f"collection {wanted} does not exist in repository {repository.repository_id}",
                                param="collectionId")
        if not can_use(caller, record.allowed_groups):
            raise PermissionDeniedError(f"you may not use collection {wanted}", param="collectionId")
        return record

    def ensure_default(self, repository: RepositoryRecord) -> CollectionRecord | None:
        """The default collection's record, made if missing (a repository made before it had one)."""
        record = default_collection(repository)
        if record is None:
            return None
        try:
            self.collection_table.create(record)
        except ConflictError:
            record = self.collection_table.get(repository.repository_id, record.collection_id) or record
        self._collections.forget()
        return record

    def visible_collections(self, repository: RepositoryRecord, caller: Caller) -> list[CollectionRecord]:
        return [c for c in self.collections(repository) if can_use(caller, c.allowed_groups) and is_live(c)]

    # stores ---------------------------------------------------------------------------------------------------
    def store(self, repository: RepositoryRecord, collection_id: str) -> VectorStore:
        key = (repository.repository_id, collection_id)
        with self._lock:
            store = self._stores.get(key)
            if store is None:
                store = self._stores[key] = self.store_factory(repository, collection_id)
            return store

    def forget_store(self, repository_id: str, collection_id: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._stores if k[0] == repository_id and collection_id in (None, k[1])]:
                self._stores.pop(key)

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        close = getattr(self.store_factory, "close", None)
        if close:
            close()
