"""pgvector store: one collection of a repository in the repository's table (providers/rag_store_schema.py), searched
through the collection's own HNSW index (cosine); psycopg 3 with binary COPY for ingest.

Locally the embedded Postgres (services/local/postgres.py); in AWS the database the repository's outputs name.
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from pgvector.psycopg import register_vector

from providers.rag_store_schema import (COLLECTIONS_REGISTRY, TEXT_CONFIG, bootstrap_sql, hnsw_index_name, hnsw_sql,
                                        table_name, table_sql, vector_expression)
from services.rag.errors import StoreUnavailableError
from services.rag.stores.base import (ChunkFilter, ChunkRecord, DocumentWriter, Hit, StoreInfo, VectorStore,
                                     check_dimension, fuse, hybrid_depth)

DEFAULT_COLLECTION = "default"
_COLUMNS = ("collection_id", "document_id", "document_name", "source", "page", "chunk_index", "content", "metadata",
            "embedding")
_TYPES = ["text", "text", "text", "text", "int4", "int4", "text", "jsonb", "vector"]
_SELECTED = sql.SQL("document_id, document_name, source, page, chunk_index, content, metadata")


class ConnectionPool:
    """A few autocommit connections shared by threads; broken ones are replaced."""

    def __init__(self, dsn: str, size: int = 4, *, configure: Callable[[psycopg.Connection], None] | None = None,
                 connect_timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.size = size
        self.configure = configure
        self.connect_timeout = connect_timeout
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()
        self._closed = False

    def _connect(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=int(self.connect_timeout))
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"the vector database is unreachable ({type(exc).__name__})") from None
        if self.configure:
            self.configure(conn)
        return conn

    @contextmanager
    def connection(self, timeout: float = 30.0) -> Iterator[psycopg.Connection]:
        conn = self._acquire(timeout)
        try:
            yield conn
        finally:
            self._release(conn)

    def _acquire(self, timeout: float) -> psycopg.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._created < self.size
            if grow:
                self._created += 1
        if grow:
            try:
                return self._connect()
            except BaseException:
                with self._lock:
                    self._created -= 1
                raise
        try:
            return self._idle.get(timeout=timeout)
        except queue.Empty:
            raise StoreUnavailableError("no database connection became free in time") from None

    def _release(self, conn: psycopg.Connection) -> None:
        healthy = not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if healthy and not self._closed:
            self._idle.put(conn)
            return
        conn.close()
        with self._lock:
            self._created -= 1

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def open_pool(dsn: str, size: int, ef_search: int) -> ConnectionPool:
    """A pool whose connections know the vector type and search the HNSW graph with `ef_search`."""
    ready = threading.Event()
    lock = threading.Lock()

    def configure(conn: psycopg.Connection) -> None:
        if not ready.is_set():
            with lock:
                if not ready.is_set():
                    _bootstrap(conn)
                    ready.set()
        register_vector(conn)
        conn.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(ef_search)))
        # A filtered search goes on scanning the graph until top_k rows pass the filter (pgvector >= 0.8).
        conn.execute("SET hnsw.iterative_scan = strict_order")

    return ConnectionPool(dsn, size, configure=configure)


def _bootstrap(conn: psycopg.Connection) -> None:
    with conn.transaction():
        # Serialise first starts of several api processes against one database.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('lisa_rag_bootstrap'))")
        for statement in bootstrap_sql():
            conn.execute(statement)


def filter_clause(collection_id: str, chunk_filter: ChunkFilter | None) -> tuple[sql.Composable, dict]:
    """` WHERE ...` for the collection and a ChunkFilter, and its parameters. The collection is a literal: the
    planner uses the collection's partial HNSW index only when it can prove the query's rows are the index's."""
    conditions: list[sql.Composable] = [sql.SQL("collection_id = {}").format(sql.Literal(collection_id))]
    params: dict[str, Any] = {}
    for column, values in (("document_id", chunk_filter.document_ids if chunk_filter else ()),
                           ("document_name", chunk_filter.document_names if chunk_filter else ())):
        if values:
            conditions.append(sql.SQL("{} = ANY(%({})s)").format(sql.Identifier(column), sql.SQL(column)))
            params[column] = sorted(values)
    contained = chunk_filter.metadata() if chunk_filter else {}
    if contained:
        conditions.append(sql.SQL("metadata @> %(metadata)s"))
        params["metadata"] = Jsonb(contained)
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions), params


class _PgWriter(DocumentWriter):
    def __init__(self, conn: psycopg.Connection, table: str, collection_id: str) -> None:
        self.conn = conn
        self.collection_id = collection_id
        self.copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT BINARY)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)))

    def add(self, chunks: list[ChunkRecord], vectors: np.ndarray) -> None:
        with self.conn.cursor() as cur, cur.copy(self.copy_sql) as copy:
            copy.set_types(_TYPES)
            for chunk, vector in zip(chunks, vectors, strict=True):
                copy.write_row((self.collection_id, chunk.document_id, chunk.document_name, chunk.source, chunk.page,
                                chunk.chunk_index, chunk.text, Jsonb(chunk.metadata or {}),
                                np.asarray(vector, dtype=np.float32)))


def _chunk(row: tuple) -> ChunkRecord:
    return ChunkRecord(document_id=row[0], document_name=row[1], source=row[2], page=row[3], chunk_index=row[4],
                       text=row[5], metadata=row[6] or {})


def ensure_table(pool: ConnectionPool, repository_id: str) -> None:
    """The repository's table and its shared indexes (the repository stack makes them; stage-config repositories
    and tests get them on first use)."""
    with pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"table:{repository_id}",))
        for statement in table_sql(repository_id):
            conn.execute(statement)


class PgVectorStore(VectorStore):
    def __init__(self, repository_id: str, pool: ConnectionPool, *, collection_id: str = DEFAULT_COLLECTION,
                 m: int = 16, ef_construction: int = 64) -> None:
        self.repository_id = repository_id
        self.collection_id = collection_id
        self.pool = pool
        self.table = table_name(repository_id)
        self.m = m
        self.ef_construction = ef_construction
        self._info: StoreInfo | None = None

    def _registry_row(self, conn: psycopg.Connection) -> tuple | None:
        return conn.execute(sql.SQL("SELECT dimension, embedding_model FROM {} WHERE repository_id = %s AND "
                                    "collection_id = %s").format(sql.Identifier(COLLECTIONS_REGISTRY)),
                            (self.repository_id, self.collection_id)).fetchone()

    def info(self) -> StoreInfo | None:
        if self._info is None:
            with self.pool.connection() as conn:
                row = self._registry_row(conn)
            self._info = StoreInfo(row[0], row[1]) if row else None
        return self._info

    def prepare(self, dimension: int, embedding_model: str) -> StoreInfo:
        info = self.info()
        if info is None:
            ensure_table(self.pool, self.repository_id)
            with self.pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self.repository_id}/{self.collection_id}",))
                row = self._registry_row(conn)
                if row is None:
                    conn.execute(hnsw_sql(self.repository_id, self.collection_id, dimension, m=self.m,
                                          ef_construction=self.ef_construction))
                    conn.execute(sql.SQL("INSERT INTO {} (repository_id, collection_id, table_name, index_name, dimension, "
                                         "embedding_model) VALUES (%s, %s, %s, %s, %s, %s)").format(
                        sql.Identifier(COLLECTIONS_REGISTRY)), (self.repository_id, self.collection_id, self.table,
                                                                hnsw_index_name(self.repository_id, self.collection_id),
                                                                dimension, embedding_model))
                    row = (dimension, embedding_model)
            info = self._info = StoreInfo(row[0], row[1])
        check_dimension(info, dimension, embedding_model)
        return info

    @contextmanager
    def writer(self, document_id: str) -> Iterator[DocumentWriter]:
        if self.info() is None:
            raise RuntimeError("prepare() the store before writing to it")
        with self.pool.connection() as conn, conn.transaction():
            yield _PgWriter(conn, self.table, self.collection_id)

    def delete_document(self, document_id: str) -> int:
        if self.info() is None:
            return 0
        with self.pool.connection() as conn:
            cur = conn.execute(sql.SQL("DELETE FROM {} WHERE collection_id = %s AND document_id = %s").format(
                sql.Identifier(self.table)), (self.collection_id, document_id))
            return cur.rowcount

    def search(self, vector: np.ndarray, top_k: int, chunk_filter: ChunkFilter | None = None,
               text: str | None = None) -> list[Hit]:
        info = self.info()
        if info is None:
            return []
        where, params = filter_clause(self.collection_id, chunk_filter)
        expression = vector_expression(info.dimension)
        knn = sql.SQL("SELECT {}, {} <=> %(v)s::vector({}) AS distance FROM {}{} ORDER BY {} <=> %(v)s::vector({}) "
                      "LIMIT %(k)s").format(_SELECTED, expression, sql.Literal(info.dimension),
                                           sql.Identifier(self.table), where, expression, sql.Literal(info.dimension))
        depth = hybrid_depth(top_k) if text else top_k
        params.update(v=np.asarray(vector, dtype=np.float32), k=depth)
        with self.pool.connection() as conn:
            rows = conn.execute(knn, params, prepare=True).fetchall()
            vector_hits = [Hit(_chunk(r), score=1.0 - float(r[7])) for r in rows]
            if not text:
                return vector_hits
            words = sql.SQL("websearch_to_tsquery({}, %(q)s)").format(sql.Literal(TEXT_CONFIG))
            full_text = sql.SQL("SELECT {}, ts_rank_cd(content_tsv, {}) AS rank FROM {}{} AND content_tsv @@ {} "
                                "ORDER BY rank DESC, id LIMIT %(k)s").format(
                _SELECTED, words, sql.Identifier(self.table), where, words)
            text_hits = [Hit(_chunk(r), float(r[7])) for r in conn.execute(full_text, {**params, "q": text}).fetchall()]
        return fuse([vector_hits, text_hits], top_k)

    def count(self, document_id: str | None = None) -> int:
        if self.info() is None:
            return 0
        query = sql.SQL("SELECT count(*) FROM {} WHERE collection_id = %s").format(sql.Identifier(self.table))
        params: tuple = (self.collection_id,)
        if document_id is not None:
            query = query + sql.SQL(" AND document_id = %s")
            params = (self.collection_id, document_id)
        with self.pool.connection() as conn:
            return int(conn.execute(query, params).fetchone()[0])

    def drop(self) -> None:
        """Remove the collection's chunks, its index and its registry row."""
        with self.pool.connection() as conn, conn.transaction():
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (self.table,)).fetchone()[0]
            if exists:
                conn.execute(sql.SQL("DELETE FROM {} WHERE collection_id = %s").format(sql.Identifier(self.table)),
                             (self.collection_id,))
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(
                sql.Identifier(hnsw_index_name(self.repository_id, self.collection_id))))
            conn.execute(sql.SQL("DELETE FROM {} WHERE repository_id = %s AND collection_id = %s").format(
                sql.Identifier(COLLECTIONS_REGISTRY)), (self.repository_id, self.collection_id))
        self._info = None
