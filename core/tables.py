"""Key schemas of the platform's DynamoDB tables, used by the core stack and the local stack alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from core import naming


@dataclass(frozen=True)
class TableSpec:
    key: str  # the logical name, as in PlatformOutputs.tables
    name: Callable[[str, str], str]
    hash_key: str
    range_key: str | None = None
    ttl_attribute: str | None = None

    def attribute_definitions(self) -> list[dict[str, str]]:
        keys = [self.hash_key] + ([self.range_key] if self.range_key else [])
        return [{"AttributeName": k, "AttributeType": "S"} for k in keys]

    def key_schema(self) -> list[dict[str, str]]:
        schema = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key:
            schema.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return schema


TABLES: tuple[TableSpec, ...] = (
    TableSpec("models", naming.models_table, "modelId"),
    # Tokens are stored by the SHA-256 of the token, never the token itself.
    TableSpec("tokens", naming.tokens_table, "tokenHash"),
    TableSpec("sessions", naming.sessions_table, "userId", "sessionId"),
    TableSpec("ragDocuments", naming.rag_documents_table, "repositoryId", "documentId"),
)
