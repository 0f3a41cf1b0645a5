"""Key schemas of the platform's DynamoDB tables, used by the core stack and the local stack alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from core import naming


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index projecting every attribute."""

    name: str
    hash_key: str
    range_key: str | None = None

    def key_schema(self) -> list[dict[str, str]]:
        schema = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key:
            schema.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return schema


@dataclass(frozen=True)
class TableSpec:
    key: str  # the logical name, as in PlatformOutputs.tables
    name: Callable[[str, str], str]
    hash_key: str
    range_key: str | None = None
    ttl_attribute: str | None = None
    indexes: tuple[IndexSpec, ...] = ()

    def attribute_definitions(self) -> list[dict[str, str]]:
        keys = [self.hash_key, self.range_key] + [k for i in self.indexes for k in (i.hash_key, i.range_key)]
        return [{"AttributeName": k, "AttributeType": "S"} for k in dict.fromkeys(k for k in keys if k)]

    def global_secondary_indexes(self) -> list[dict]:
        """The indexes in DynamoDB's CreateTable form (the emulator); the core stack maps the same list."""
        return [{"IndexName": i.name, "KeySchema": i.key_schema(), "Projection": {"ProjectionType": "ALL"}}
                for i in self.indexes]

    def key_schema(self) -> list[dict[str, str]]:
        schema = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key:
            schema.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return schema


TABLES: tuple[TableSpec, ...] = (
    TableSpec("models", naming.models_table, "modelId"),
    # Tokens are stored by the SHA-256 of the token, never the token itself.
    TableSpec("tokens", naming.tokens_table, "tokenHash",
              indexes=(IndexSpec("byUser", "userId"), IndexSpec("byTokenUUID", "tokenUUID"))),
    TableSpec("sessions", naming.sessions_table, "userId", "sessionId"),
    # RAG: documents (each also its ingest job) by collection (LISA's pk "repo#collection") and newest first per
    # repository (the jobs listing); repositories (LISA's vector-store table) and their collections.
    TableSpec("ragDocuments", naming.rag_documents_table, "repositoryId", "documentId",
              indexes=(IndexSpec("byCollection", "pk", "documentId"), IndexSpec("byCreated", "repositoryId", "createdDate"))),
    TableSpec("ragRepositories", naming.rag_repositories_table, "repositoryId"),
    TableSpec("ragCollections", naming.rag_collections_table, "repositoryId", "collectionId"),
    # Governance: per-minute usage rows by day (and by user), the audit log by day, shared rate-limit buckets.
    TableSpec("usage", naming.usage_table, "pk", "sk", ttl_attribute="expiresAt",
              indexes=(IndexSpec("byUser", "userId", "sk"),)),
    TableSpec("audit", naming.audit_table, "pk", "sk", ttl_attribute="expiresAt"),
    TableSpec("rateLimits", naming.rate_limits_table, "bucketKey", ttl_attribute="expiresAt"),
    # Chat: MCP connections (their headers are in Secrets Manager), tool calls awaiting a user's approval, prompt
    # templates by revision (zero-padded, so they sort), projects and preferences per user, the admin configuration
    # by version (zero-padded), feedback on answers per user (and by day, for admins).
    TableSpec("mcpServers", naming.mcp_servers_table, "id"),
    TableSpec("mcpApprovals", naming.mcp_approvals_table, "approvalId", ttl_attribute="expiresAt"),
    TableSpec("promptTemplates", naming.prompt_templates_table, "id", "revision"),
    TableSpec("projects", naming.projects_table, "userId", "projectId"),
    TableSpec("userPreferences", naming.user_preferences_table, "user"),
    TableSpec("configuration", naming.configuration_table, "configScope", "versionId"),
    TableSpec("feedback", naming.feedback_table, "userId", "feedbackId", indexes=(IndexSpec("byDay", "day", "createdAt"),)),
)
