"""pgvector store: one table per repository with an HNSW index (cosine), psycopg 3 with binary COPY for ingest.

Locally the embedded Postgres (services/local/postgres.py); in AWS the RDS instance of the repository's RagStores.
A registry table, `lisa_rag_repositories`, records each repository's table, dimension and embedding model.
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import psycopg
from psycopg import sql
from pgvector.psycopg import register_vector

from services.rag.errors import StoreUnavailableError
from services.rag.stores.base import (ChunkFilter, ChunkRecord, DocumentWriter, Hit, StoreInfo, VectorStore,
                                     check_dimension)

REGISTRY = "lisa_rag_repositories"
_COLUMNS = ("document_id", "document_name", "source", "page", "chunk_index", "content", "embedding")
_TYPES = ["text", "text", "text", "int4", "int4", "text", "vector"]


def table_name(repository_id: str) -> str:
    """`rag_chunks_<id>`, within Postgres' 63-byte identifier limit (a long id keeps a hash of itself)."""
    base = "rag_chunks_" + re.sub(r"[^a-z0-9_]", "_", repository_id.lower())
    if len(base) <= 63:
        return base
    return f"{base[:54]}_{hashlib.sha256(repository_id.encode()).hexdigest()[:8]}"


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
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (repository_id text PRIMARY KEY, table_name text NOT NULL, "
            "dimension int NOT NULL, embedding_model text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        ).format(sql.Identifier(REGISTRY)))


def filter_clause(chunk_filter: ChunkFilter | None) -> tuple[sql.Composable, dict]:
    """` WHERE ...` for a ChunkFilter (empty when it restricts nothing), and its parameters."""
    conditions, params = [], {}
    for column, values in (("document_id", chunk_filter.document_ids if chunk_filter else ()),
                           ("document_name", chunk_filter.document_names if chunk_filter else ())):
        if values:
            conditions.append(sql.SQL("{} = ANY(%({})s)").format(sql.Identifier(column), sql.SQL(column)))
            params[column] = sorted(values)
    if not conditions:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions), params


class _PgWriter(DocumentWriter):
    def __init__(self, conn: psycopg.Connection, table: str) -> None:
        self.conn = conn
        self.copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT BINARY)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)))

    def add(self, chunks: list[ChunkRecord], vectors: np.ndarray) -> None:
        with self.conn.cursor() as cur, cur.copy(self.copy_sql) as copy:
            copy.set_types(_TYPES)
            for chunk, vector in zip(chunks, vectors, strict=True):
                copy.write_row((chunk.document_id, chunk.document_name, chunk.source, chunk.page, chunk.chunk_index,
                                chunk.text, np.asarray(vector, dtype=np.float32)))


class PgVectorStore(VectorStore):
    def __init__(self, repository_id: str, pool: ConnectionPool, *, m: int = 16, ef_construction: int = 64) -> None:
        self.repository_id = repository_id
        self.pool = pool
        self.table = table_name(repository_id)
        self.m = m
        self.ef_construction = ef_construction
        self._info: StoreInfo | None = None

    def info(self) -> StoreInfo | None:
        if self._info is None:
            with self.pool.connection() as conn:
                row = conn.execute(sql.SQL("SELECT dimension, embedding_model FROM {} WHERE repository_id = %s")
                                   .format(sql.Identifier(REGISTRY)), (self.repository_id,)).fetchone()
            self._info = StoreInfo(row[0], row[1]) if row else None
        return self._info

    def prepare(self, dimension: int, embedding_model: str) -> StoreInfo:
        info = self.info()
        if info is None:
            with self.pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.repository_id,))
                row = conn.execute(sql.SQL("SELECT dimension, embedding_model FROM {} WHERE repository_id = %s")
                                   .format(sql.Identifier(REGISTRY)), (self.repository_id,)).fetchone()
                if row is None:
                    self._create(conn, dimension, embedding_model)
                    row = (dimension, embedding_model)
            info = self._info = StoreInfo(row[0], row[1])
        check_dimension(info, dimension, embedding_model)
        return info

    def _create(self, conn: psycopg.Connection, dimension: int, embedding_model: str) -> None:
        table = sql.Identifier(self.table)
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, document_id text NOT NULL, document_name text NOT NULL, "
            "source text NOT NULL, page int, chunk_index int NOT NULL, content text NOT NULL, embedding vector({}) NOT NULL)"
        ).format(table, sql.Literal(dimension)))
        conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (document_id)").format(
            sql.Identifier(f"{self.table}_doc"), table))
        conn.execute(sql.SQL(
            "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw (embedding vector_cosine_ops) WITH (m = {}, ef_construction = {})"
        ).format(sql.Identifier(f"{self.table}_hnsw"), table, sql.Literal(self.m), sql.Literal(self.ef_construction)))
        conn.execute(sql.SQL("INSERT INTO {} (repository_id, table_name, dimension, embedding_model) VALUES (%s, %s, %s, %s)")
                     .format(sql.Identifier(REGISTRY)), (self.repository_id, self.table, dimension, embedding_model))

    @contextmanager
    def writer(self, document_id: str) -> Iterator[DocumentWriter]:
        if self.info() is None:
            raise RuntimeError("prepare() the store before writing to it")
        with self.pool.connection() as conn, conn.transaction():
            yield _PgWriter(conn, self.table)

    def delete_document(self, document_id: str) -> int:
        if self.info() is None:
            return 0
        with self.pool.connection() as conn:
            cur = conn.execute(sql.SQL("DELETE FROM {} WHERE document_id = %s").format(sql.Identifier(self.table)),
                               (document_id,))
            return cur.rowcount

    def search(self, vector: np.ndarray, top_k: int, chunk_filter: ChunkFilter | None = None) -> list[Hit]:
        if self.info() is None:
            return []
        where, params = filter_clause(chunk_filter)
        query = sql.SQL(
            "SELECT document_id, document_name, source, page, chunk_index, content, embedding <=> %(v)s AS distance "
            "FROM {}{} ORDER BY embedding <=> %(v)s LIMIT %(k)s"
        ).format(sql.Identifier(self.table), where)
        params.update(v=np.asarray(vector, dtype=np.float32), k=top_k)
        with self.pool.connection() as conn:
            rows = conn.execute(query, params, prepare=True).fetchall()
        return [Hit(ChunkRecord(document_id=r[0], document_name=r[1], source=r[2], page=r[3], chunk_index=r[4],
                                text=r[5]), score=1.0 - float(r[6])) for r in rows]

    def count(self, document_id: str | None = None) -> int:
        if self.info() is None:
            return 0
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(self.table))
        params: tuple = ()
        if document_id is not None:
            query = query + sql.SQL(" WHERE document_id = %s")
            params = (document_id,)
        with self.pool.connection() as conn:
            return int(conn.execute(query, params).fetchone()[0])

    def drop(self) -> None:
        """Remove the repository's table and registry row (tests and benchmarks start clean with it)."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(self.table)))
            conn.execute(sql.SQL("DELETE FROM {} WHERE repository_id = %s").format(sql.Identifier(REGISTRY)),
                         (self.repository_id,))
        self._info = None
