"""What a RAG repository's store is made of, written once for the repository stack's providers and the api's stores.

pgvector: one table per repository, one row per chunk, for all its collections (`collection_id`): an untyped `vector`
column, so collections may use embedding models of different dimensions, each collection searched through an HNSW
index of its own (a partial index on `embedding::vector(<dimension>)` for its rows); a `tsvector` column computed from
the text with a GIN index (full-text half of hybrid search); the chunk's metadata (`tags`, `customFields`) as JSONB
with a GIN index (filters are `@>` containment). `lisa_rag_collections` records each collection's dimension and model.

OpenSearch: one index per collection (`knn_vector` fields have one dimension), HNSW on Lucene with cosine, `text` as a
full-text field, metadata as keywords.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from psycopg import sql

COLLECTIONS_REGISTRY = "lisa_rag_collections"
TEXT_CONFIG = "english"
DEFAULT_M, DEFAULT_EF_CONSTRUCTION = 16, 64


def _slug(value: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{slug[:limit]}_{digest}" if len(slug) > limit or slug != value else slug


def table_name(repository_id: str) -> str:
    """`rag_<repository>` within Postgres' 63-byte identifiers (anything but [a-z0-9_] keeps a hash of the id)."""
    return "rag_" + _slug(repository_id, 48)


def hnsw_index_name(repository_id: str, collection_id: str) -> str:
    return f"{table_name(repository_id)[:40]}_hnsw_{hashlib.sha256(collection_id.encode()).hexdigest()[:12]}"


def bootstrap_sql() -> list[sql.Composable]:
    return [
        sql.SQL("CREATE EXTENSION IF NOT EXISTS vector"),
        sql.SQL("CREATE TABLE IF NOT EXISTS {} (repository_id text NOT NULL, collection_id text NOT NULL, "
                "table_name text NOT NULL, index_name text NOT NULL, dimension int NOT NULL, embedding_model text NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (repository_id, collection_id))"
                ).format(sql.Identifier(COLLECTIONS_REGISTRY)),
    ]


def table_sql(repository_id: str) -> list[sql.Composable]:
    table = table_name(repository_id)
    ident = sql.Identifier(table)
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, collection_id text NOT NULL, "
            "document_id text NOT NULL, document_name text NOT NULL, source text NOT NULL, page int, "
            "chunk_index int NOT NULL, content text NOT NULL, metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb, "
            "embedding vector NOT NULL, "
            "content_tsv tsvector GENERATED ALWAYS AS (to_tsvector({}, content)) STORED)"
        ).format(ident, sql.Literal(TEXT_CONFIG)),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (collection_id, document_id)").format(
            sql.Identifier(f"{table}_doc"), ident),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gin (content_tsv)").format(
            sql.Identifier(f"{table}_tsv"), ident),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gin (metadata jsonb_path_ops)").format(
            sql.Identifier(f"{table}_meta"), ident),
    ]


def drop_table_sql(repository_id: str) -> list[sql.Composable]:
    return [sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table_name(repository_id))),
            sql.SQL("DELETE FROM {} WHERE repository_id = {}").format(
                sql.Identifier(COLLECTIONS_REGISTRY), sql.Literal(repository_id))]


def vector_expression(dimension: int) -> sql.Composable:
    return sql.SQL("(embedding::vector({}))").format(sql.Literal(dimension))


def hnsw_sql(repository_id: str, collection_id: str, dimension: int, *, m: int = DEFAULT_M,
             ef_construction: int = DEFAULT_EF_CONSTRUCTION) -> sql.Composable:
    return sql.SQL(
        "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw ({} vector_cosine_ops) WITH (m = {}, ef_construction = {}) "
        "WHERE collection_id = {}"
    ).format(sql.Identifier(hnsw_index_name(repository_id, collection_id)), sql.Identifier(table_name(repository_id)),
             vector_expression(dimension), sql.Literal(m), sql.Literal(ef_construction), sql.Literal(collection_id))


# OpenSearch ----------------------------------------------------------------------------------------------------------
def index_name(repository_id: str, collection_id: str) -> str:
    """`rag-<repository>-<collection>`: lowercase, no characters OpenSearch refuses (a changed id keeps a hash)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", collection_id.lower()).strip("-_") or "c"
    if slug != collection_id or len(slug) > 60:
        slug = f"{slug[:60]}-{hashlib.sha256(collection_id.encode()).hexdigest()[:8]}"
    return f"rag-{repository_id}-{slug}"


def index_body(dimension: int, embedding_model: str, *, m: int = 16, ef_construction: int = 128) -> dict[str, Any]:
    # ef_search goes with each query: the index setting `knn.algo_param.ef_search` is not read by the Lucene engine.
    return {
        "settings": {"index": {"knn": True, "refresh_interval": "-1"}},
        "mappings": {
            "_meta": {"dimension": dimension, "embeddingModel": embedding_model},
            # Custom fields are matched exactly: any string under metadata is a keyword.
            "dynamic_templates": [{"metadata_strings": {"path_match": "metadata.*", "match_mapping_type": "string",
                                                        "mapping": {"type": "keyword"}}}],
            "properties": {
                "embedding": {"type": "knn_vector", "dimension": dimension, "method": {
                    "name": "hnsw", "space_type": "cosinesimil", "engine": "lucene",
                    "parameters": {"m": m, "ef_construction": ef_construction}}},
                "documentId": {"type": "keyword"},
                "documentName": {"type": "keyword"},
                "source": {"type": "keyword"},
                "page": {"type": "integer"},
                "chunkIndex": {"type": "integer"},
                "text": {"type": "text"},  # the standard analyzer: the only one in every node (no modules needed)
                "metadata": {"type": "object", "properties": {"tags": {"type": "keyword"}}},
            },
        },
    }
