"""A RAG repository's store as Pulumi dynamic resources (one repository stack each, made by the api's engine):

- `PgVectorRepositoryTable`: the repository's table with its shared indexes (full text, metadata, documents) and, per
  collection it is given (the default one), the collection's HNSW index and registry row;
- `OpenSearchCollectionIndex`: one collection's k-NN index.

Both implement `read`, so `pulumi refresh` (and the drift check) sees a table or index removed behind the platform's
back. Connections: a DSN without a password (the local stack's embedded Postgres), or a host whose password is in a
secret (read when the provider runs, never an input, so it never enters the stack's state); an OpenSearch endpoint,
signed with the platform's credentials unless it is the local node.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi import ResourceOptions
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from providers.inputs import same
from providers.provider_process import FollowingProvider
from providers.rag_store_schema import (COLLECTIONS_REGISTRY, bootstrap_sql, drop_table_sql, hnsw_index_name, hnsw_sql,
                                        index_body, table_name, table_sql)


def pg_connect(connection: dict[str, Any]):
    import psycopg
    from psycopg.conninfo import make_conninfo

    if connection.get("dsn"):
        return psycopg.connect(connection["dsn"], autocommit=True, connect_timeout=10)
    from core import secrets

    password = None
    if connection.get("passwordSecretId"):
        value = secrets.read(connection["passwordSecretId"])
        try:
            password = json.loads(value).get("password")
        except (ValueError, AttributeError):
            password = value
    return psycopg.connect(make_conninfo(host=connection["host"], port=connection.get("port", 5432),
                                         dbname=connection.get("dbname", "postgres"), user=connection.get("user"),
                                         password=password, sslmode=connection.get("sslmode", "require")),
                           autocommit=True, connect_timeout=10)


def _apply_table(props: dict[str, Any]) -> None:
    from psycopg import sql

    repository_id = props["repositoryId"]
    with pg_connect(props["connection"]) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('lisa_rag_bootstrap'))")
        for statement in [*bootstrap_sql(), *table_sql(repository_id)]:
            conn.execute(statement)
        for collection in props.get("collections", []):
            cid, dimension = collection["collectionId"], int(collection["dimension"])
            conn.execute(hnsw_sql(repository_id, cid, dimension, m=int(props.get("m", 16)),
                                  ef_construction=int(props.get("efConstruction", 64))))
            conn.execute(sql.SQL(
                "INSERT INTO {} (repository_id, collection_id, table_name, index_name, dimension, embedding_model) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (repository_id, collection_id) DO NOTHING").format(
                sql.Identifier(COLLECTIONS_REGISTRY)), (repository_id, cid, table_name(repository_id),
                                                        hnsw_index_name(repository_id, cid), dimension,
                                                        collection["embeddingModel"]))


class PgVectorTableProvider(FollowingProvider):
    serialize_as_secret_always = False  # pickled by reference, holds nothing

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if not (same(olds, news, "repositoryId") and same(olds, news, "connection")):
            return DiffResult(changes=True, replaces=["repositoryId"], delete_before_replace=True)
        return DiffResult(changes=not all(same(olds, news, k) for k in ("collections", "m", "efConstruction")),
                          replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        _apply_table(props)
        return CreateResult(table_name(props["repositoryId"]), props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _apply_table(news)  # every statement is IF NOT EXISTS: new collections get their index
        return UpdateResult(news)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with pg_connect(props["connection"]) as conn:
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (id_,)).fetchone()[0]
        return ReadResult(id_ if exists else None, props if exists else {})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with pg_connect(props["connection"]) as conn, conn.transaction():
            for statement in drop_table_sql(props["repositoryId"]):
                conn.execute(statement)


class PgVectorRepositoryTable(Resource, module="lisa", name="PgVectorRepositoryTable"):
    def __init__(self, name: str, *, repository_id: str, connection: dict[str, Any],
                 collections: list[dict[str, Any]], m: int = 16, ef_construction: int = 64,
                 opts: ResourceOptions | None = None) -> None:
        super().__init__(PgVectorTableProvider(), name, {
            "repositoryId": repository_id, "connection": connection, "collections": collections, "m": m,
            "efConstruction": ef_construction}, opts)


def os_client(connection: dict[str, Any]):
    from opensearchpy import OpenSearch, RequestsHttpConnection

    if not connection.get("signed"):
        return OpenSearch(hosts=[connection["endpoint"]], timeout=30)
    from opensearchpy import AWSV4SignerAuth

    from core import aws

    endpoint = connection["endpoint"]
    url = endpoint if "://" in endpoint else f"https://{endpoint}"
    return OpenSearch(hosts=[url], http_auth=AWSV4SignerAuth(aws.credentials(), connection["region"], "es"),
                      connection_class=RequestsHttpConnection, timeout=30)


class OpenSearchIndexProvider(FollowingProvider):
    serialize_as_secret_always = False

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replace = not all(same(olds, news, k) for k in ("index", "connection", "dimension", "m", "efConstruction"))
        return DiffResult(changes=replace or not same(olds, news, "embeddingModel"),
                          replaces=["index"] if replace else [], delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        from opensearchpy.exceptions import RequestError

        body = index_body(int(props["dimension"]), props["embeddingModel"], m=int(props["m"]),
                          ef_construction=int(props["efConstruction"]))
        with os_client(props["connection"]) as client:
            try:
                client.indices.create(index=props["index"], body=body)
            except RequestError as exc:
                if exc.error != "resource_already_exists_exception":  # adopted: an interrupted create made it
                    raise
        return CreateResult(props["index"], props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(news)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with os_client(props["connection"]) as client:
            exists = bool(client.indices.exists(index=id_))
        return ReadResult(id_ if exists else None, props if exists else {})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with os_client(props["connection"]) as client:
            client.indices.delete(index=id_, ignore_unavailable=True)


class OpenSearchCollectionIndex(Resource, module="lisa", name="OpenSearchCollectionIndex"):
    def __init__(self, name: str, *, index: str, connection: dict[str, Any], dimension: int, embedding_model: str,
                 m: int = 16, ef_construction: int = 128, opts: ResourceOptions | None = None) -> None:
        super().__init__(OpenSearchIndexProvider(), name, {
            "index": index, "connection": connection, "dimension": dimension, "embeddingModel": embedding_model,
            "m": m, "efConstruction": ef_construction}, opts)
