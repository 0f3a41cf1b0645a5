"""The repository and collection tables (DynamoDB): LISA's vector-store table (key repositoryId) and its collections
table (here keyed repositoryId + collectionId, so one query lists a repository's collections).

Writes that change a status are conditional on the status read, so two api processes cannot both start the same
operation; creates are conditional on the item not existing.
"""

from __future__ import annotations

from typing import Any, Iterable

from core.dynamo import ConditionFailed, Table
from core.errors import ConflictError, NotFoundError
from core.rag import CollectionRecord, RepositoryRecord, VectorStoreStatus, now_iso


def _item(model) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


class RepositoryTable:
    def __init__(self, table_name: str) -> None:
        self.table = Table(table_name)

    def create(self, record: RepositoryRecord) -> RepositoryRecord:
        try:
            self.table.put(_item(record), condition="attribute_not_exists(repositoryId)")
        except ConditionFailed:
            raise ConflictError(f"repository {record.repository_id} already exists", param="repositoryId") from None
        return record

    def get(self, repository_id: str) -> RepositoryRecord | None:
        item = self.table.get({"repositoryId": repository_id}, consistent=True)
        return RepositoryRecord.model_validate(item) if item else None

    def require(self, repository_id: str) -> RepositoryRecord:
        record = self.get(repository_id)
        if record is None:
            raise NotFoundError(f"repository {repository_id} does not exist", param="repositoryId")
        return record

    def list(self) -> list[RepositoryRecord]:
        return sorted((RepositoryRecord.model_validate(i) for i in self.table.scan(consistent=True)),
                      key=lambda r: r.repository_id)

    def save(self, record: RepositoryRecord, *, expected: Iterable[VectorStoreStatus] | None = None) -> RepositoryRecord:
        """Write the whole record (updatedAt now), if its status is still one of `expected` (409 otherwise)."""
        record = record.model_copy(update={"updated_at": now_iso()})
        condition, values = "attribute_exists(repositoryId)", {}
        if expected is not None:
            statuses = {f":s{i}": s.value for i, s in enumerate(expected)}
            condition += f" AND #status IN ({', '.join(statuses)})"
            values = statuses
        try:
            self.table.put(_item(record), condition=condition, names={"#status": "status"} if values else None,
                           values=values or None)
        except ConditionFailed:
            raise ConflictError(f"repository {record.repository_id} changed meanwhile (or is gone); try again") from None
        return record

    def delete(self, repository_id: str) -> None:
        self.table.delete({"repositoryId": repository_id})

    def adopt_model(self, repository_id: str, model: str) -> RepositoryRecord:
        """Give a repository without an embedding model this one (the first ingest's); the first writer wins."""
        try:
            self.table.update({"repositoryId": repository_id}, set={"embeddingModelId": model, "updatedAt": now_iso()},
                              condition="attribute_exists(repositoryId) AND attribute_not_exists(embeddingModelId)")
        except ConditionFailed:
            pass
        return self.require(repository_id)


class CollectionTable:
    def __init__(self, table_name: str) -> None:
        self.table = Table(table_name)

    def create(self, record: CollectionRecord) -> CollectionRecord:
        try:
            self.table.put(_item(record), condition="attribute_not_exists(collectionId)")
        except ConditionFailed:
            raise ConflictError(f"collection {record.collection_id} already exists in repository "
                                f"{record.repository_id}", param="collectionId") from None
        return record

    def get(self, repository_id: str, collection_id: str) -> CollectionRecord | None:
        item = self.table.get({"repositoryId": repository_id, "collectionId": collection_id}, consistent=True)
        return CollectionRecord.model_validate(item) if item else None

    def list(self, repository_id: str) -> list[CollectionRecord]:
        items = self.table.query("repositoryId = :r", values={":r": repository_id}, consistent=True)
        return [CollectionRecord.model_validate(i) for i in items]

    def all(self) -> list[CollectionRecord]:
        return [CollectionRecord.model_validate(i) for i in self.table.scan(consistent=True)]

    def save(self, record: CollectionRecord) -> CollectionRecord:
        record = record.model_copy(update={"updated_at": now_iso()})
        try:
            self.table.put(_item(record), condition="attribute_exists(collectionId)")
        except ConditionFailed:
            raise NotFoundError(f"collection {record.collection_id} does not exist", param="collectionId") from None
        return record

    def delete(self, repository_id: str, collection_id: str) -> None:
        self.table.delete({"repositoryId": repository_id, "collectionId": collection_id})
