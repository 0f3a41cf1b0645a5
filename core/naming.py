"""Every physical resource name in the project, derived from (deployment, stage[, model]) in one place.

The core stack, the local stack (which creates the same resources in the emulator) and the model providers all
call these, so a name never drifts between the place that creates a thing and the place that looks it up.
"""

from __future__ import annotations

import hashlib
import re

# AWS limits that bite: target group / load balancer names ≤ 32 chars, IAM role names ≤ 64, S3 buckets ≤ 63.
_ELB_MAX = 32


def _short_hash(*parts: str, length: int = 6) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _fit(name: str, limit: int, *salt: str) -> str:
    """Trim `name` to `limit` keeping it unique: a trimmed name ends with a hash of the full one."""
    name = re.sub(r"-+", "-", name).strip("-")
    if len(name) <= limit:
        return name
    suffix = _short_hash(name, *salt)
    return f"{name[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


def prefix(deployment: str, stage: str) -> str:
    return f"{deployment}-{stage}"


def stage_key_alias(deployment: str, stage: str) -> str:
    """The stage's KMS key (tables, buckets, secrets; the model stacks' Pulumi secrets provider)."""
    return f"alias/lisa/{prefix(deployment, stage)}"


# DynamoDB tables
def models_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-models"


def tokens_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-api-tokens"


def sessions_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-sessions"


def rag_documents_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-rag-documents"


def rag_repositories_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-rag-repositories"


def rag_collections_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-rag-collections"


def repository_stack(deployment: str, stage: str, repository_id: str) -> str:
    return f"{deployment}-{stage}-repository-{repository_id}"


def pipeline_queue(deployment: str, stage: str, repository_id: str) -> str:
    """The SQS queue a repository's event pipelines feed (80 characters at most)."""
    return f"{prefix(deployment, stage)}-rag-{repository_id}-pipeline"[:80]


def pipeline_rule(deployment: str, stage: str, repository_id: str, index: int) -> str:
    """The EventBridge rule of a repository's index-th event pipeline (64 characters at most)."""
    return f"{prefix(deployment, stage)}-rag-{repository_id}-{index}"[:64]


def collection_pipeline_rule(deployment: str, stage: str, repository_id: str, collection_id: str, index: int) -> str:
    """The rule of a collection's index-th event pipeline, in its repository's stack: a digest of the collection id
    (up to 128 characters) keeps it within 64 and apart from the other collections'."""
    suffix = f"-c{hashlib.sha256(collection_id.encode()).hexdigest()[:8]}-{index}"
    return f"{prefix(deployment, stage)}-rag-{repository_id}"[:64 - len(suffix)] + suffix


def usage_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-usage"


def audit_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-audit"


def rate_limits_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-rate-limits"


def mcp_servers_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-mcp-servers"


def mcp_approvals_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-mcp-approvals"


def prompt_templates_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-prompt-templates"


def projects_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-projects"


def user_preferences_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-user-preferences"


def configuration_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-configuration"


def feedback_table(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-feedback"


# S3 buckets: global namespace, so the account id (when known) keeps two accounts' deployments apart.
def _bucket(deployment: str, stage: str, purpose: str, account: str | None) -> str:
    base = f"{prefix(deployment, stage)}-{purpose}"
    if account:
        base = f"{base}-{account}"
    return _fit(base, 63, purpose)


def models_bucket(deployment: str, stage: str, account: str | None = None) -> str:
    return _bucket(deployment, stage, "models", account)


def rag_bucket(deployment: str, stage: str, account: str | None = None) -> str:
    return _bucket(deployment, stage, "rag-docs", account)


def sessions_bucket(deployment: str, stage: str, account: str | None = None) -> str:
    """Chat sessions too large for one DynamoDB item."""
    return _bucket(deployment, stage, "sessions", account)


def state_bucket(deployment: str, stage: str, account: str | None = None) -> str:
    return _bucket(deployment, stage, "deploy-state", account)


def web_bucket(deployment: str, stage: str, account: str | None = None) -> str:
    return _bucket(deployment, stage, "web", account)


def access_logs_bucket(deployment: str, stage: str, account: str | None = None) -> str:
    return _bucket(deployment, stage, "access-logs", account)


# Secrets
def master_key_secret(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}/litellm-master-key"


def model_api_key_secret(deployment: str, stage: str, model_id: str) -> str:
    return f"{prefix(deployment, stage)}/models/{model_id}/api-key"


def rag_db_secret(deployment: str, stage: str, repository_id: str) -> str:
    return f"{prefix(deployment, stage)}/rag/{repository_id}/db"


def mcp_server_secret(deployment: str, stage: str, server_id: str) -> str:
    """The custom headers (credentials) of one MCP connection, as JSON."""
    return f"{mcp_server_secret_prefix(deployment, stage)}{server_id}/headers"


def mcp_server_secret_prefix(deployment: str, stage: str) -> str:
    """Every MCP connection's secret starts with this; IAM scopes to it."""
    return f"{prefix(deployment, stage)}/mcp/"


# Shared model hosting
def gpu_cluster(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-models"


def model_alb(deployment: str, stage: str) -> str:
    return _fit(f"{prefix(deployment, stage)}-models", _ELB_MAX, deployment, stage)


def serve_cluster(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-serve"


def serve_alb(deployment: str, stage: str) -> str:
    return _fit(f"{prefix(deployment, stage)}-serve", _ELB_MAX, deployment, stage)


def user_pool(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-users"


def cognito_domain_prefix(deployment: str, stage: str, account: str) -> str:
    # Hosted-UI domain prefixes are global per region, so the account id keeps them apart; ≤ 63 chars.
    return _fit(f"{prefix(deployment, stage)}-{account}", 63)


# The apps (serve, api) on Fargate
def api_alb(deployment: str, stage: str) -> str:
    return _fit(f"{prefix(deployment, stage)}-api", _ELB_MAX, deployment, stage)


def app_task_role(deployment: str, stage: str, app: str) -> str:
    """Fixed role names, so a role's ARN is known before it exists (the OpenSearch domains name the api's)."""
    return _fit(f"{prefix(deployment, stage)}-{app}-task", 64)


def app_execution_role(deployment: str, stage: str, app: str) -> str:
    return _fit(f"{prefix(deployment, stage)}-{app}-execution", 64)


def app_log_group(deployment: str, stage: str, app: str) -> str:
    return f"/lisa/{prefix(deployment, stage)}/{app}"


def platform_secret(deployment: str, stage: str, app: str) -> str:
    """The platform outputs an app reads at start (LISA_PLATFORM), kept as a secret: static models may hold keys."""
    return f"{prefix(deployment, stage)}/platform/{app}"


def app_repository(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}/apps"


# Shared model hosting roles (the local stack creates the same names in the emulator)
def model_instance_role(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-model-instance"


def model_task_role(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-model-task"


def model_execution_role(deployment: str, stage: str) -> str:
    return f"{prefix(deployment, stage)}-model-execution"


def model_scheduler_role(deployment: str, stage: str) -> str:
    """The role EventBridge Scheduler assumes for every model's start/stop schedules."""
    return f"{prefix(deployment, stage)}-model-scheduler"


def model_schedule_prefix(deployment: str, stage: str) -> str:
    """Every model schedule's name starts with this (see model_schedule); IAM scopes to it."""
    return f"{prefix(deployment, stage)}-sched-"


def model_schedule(deployment: str, stage: str, model_id: str, suffix: str) -> str:
    # EventBridge Scheduler names: at most 64 of [0-9a-zA-Z-_.].
    base = f"{model_schedule_prefix(deployment, stage)}{model_id}"
    return f"{_fit(base, 64 - len(suffix) - 1, deployment, stage, model_id)}-{suffix}"


def model_log_group_prefix(deployment: str, stage: str) -> str:
    """Every hosted model's log group starts with this (see model_log_group); IAM scopes to it."""
    return f"/lisa/{prefix(deployment, stage)}/models/"


def model_api_key_secret_prefix(deployment: str, stage: str) -> str:
    """Every model API-key secret starts with this (see model_api_key_secret); IAM scopes to it."""
    return f"{prefix(deployment, stage)}/models/"


# RAG stores
def rag_opensearch_domain(deployment: str, stage: str, repository_id: str) -> str:
    # OpenSearch domain names: 3-28 chars, a lowercase letter first, then lowercase letters, digits, hyphens.
    return _fit(f"{prefix(deployment, stage)}-{repository_id}", 28, deployment, stage, repository_id)


def rag_db_instance(deployment: str, stage: str, repository_id: str) -> str:
    # RDS identifiers: ≤ 63 chars, a letter first, no two consecutive hyphens, no trailing hyphen.
    return _fit(f"{prefix(deployment, stage)}-rag-{repository_id}", 63, deployment, stage, repository_id)


# One model
def model_stack(deployment: str, stage: str, model_id: str) -> str:
    return f"{prefix(deployment, stage)}-model-{model_id}"


def model_resource(deployment: str, stage: str, model_id: str) -> str:
    """Base name of a hosted model's AWS resources (ECS service, ASG, launch template, log group)."""
    return f"{prefix(deployment, stage)}-{model_id}"


def model_target_group(deployment: str, stage: str, model_id: str) -> str:
    return _fit(f"{prefix(deployment, stage)}-{model_id}", _ELB_MAX, deployment, stage, model_id)


def model_capacity_provider(deployment: str, stage: str, model_id: str) -> str:
    # ECS reserves capacity provider names starting with "aws", "ecs" or "fargate".
    return _fit(f"cp-{prefix(deployment, stage)}-{model_id}", 255)


def model_log_group(deployment: str, stage: str, model_id: str) -> str:
    return f"/lisa/{prefix(deployment, stage)}/models/{model_id}"


# The shared model ALB routes a request to a model's target group by this header (ALB rules cannot rewrite paths,
# so each model keeps its server's own /v1 paths); serve sends it, from the registration's extra_headers.
MODEL_HEADER = "X-Lisa-Model"


def model_path(model_id: str) -> str:
    """The path prefix of a hosted model on the shared model ALB."""
    return f"/{model_id}"
