"""What a deployed stage looks like to its runtime: the one output object of the core stack.

`__main__.py` exports it as the `platform` stack output; the local stack writes the same object for the resources
it creates in the emulator. The serve and api apps read it (from `LISA_PLATFORM` as JSON, or from the file named by
`LISA_PLATFORM_FILE`), and the model stacks take their shared hosting inputs from `modelHosting`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from core import naming
from core.config import LiteLLMModelEntry, LiteLLMSettings, RagRepositoryConfig, RateLimitConfig
from core.schema import CamelModel


class Tables(CamelModel):
    models: str
    tokens: str
    sessions: str
    rag_documents: str
    rag_repositories: str
    rag_collections: str
    usage: str
    audit: str
    rate_limits: str
    mcp_servers: str
    mcp_approvals: str
    prompt_templates: str
    projects: str
    user_preferences: str
    configuration: str
    feedback: str


class Buckets(CamelModel):
    models: str
    rag_documents: str
    deployment_state: str
    web: str | None = None
    # Sessions larger than a DynamoDB item are stored here whole; without it they are refused (413).
    sessions: str | None = None


class AuthOutputs(CamelModel):
    authority: str
    client_id: str
    admin_group: str
    jwt_groups_property: str = "cognito:groups"
    # Where the signing keys are; defaults to discovery from `authority`. The emulator serves them elsewhere.
    jwks_url: str | None = None
    user_pool_id: str | None = None
    additional_scopes: list[str] = Field(default_factory=list)
    # LISA's other roles (core.config.AccessGroups); empty: not used.
    user_group: str = ""
    rag_admin_group: str = ""
    api_group: str = ""

    @property
    def resolved_jwks_url(self) -> str:
        return self.jwks_url or f"{self.authority.rstrip('/')}/.well-known/jwks.json"


class ModelHostingOutputs(CamelModel):
    """What every hosted model shares; the inputs of the HostedModel provider."""

    cluster_name: str
    cluster_arn: str
    load_balancer_arn: str
    listener_arn: str
    load_balancer_dns_name: str
    load_balancer_security_group_id: str | None = None
    vpc_id: str
    private_subnet_ids: list[str]
    instance_security_group_ids: list[str]
    instance_profile_arn: str
    task_role_arn: str
    execution_role_arn: str
    listener_protocol: Literal["HTTP", "HTTPS"] = "HTTP"
    # The private ECR repositories the execution role may pull model images from (stage config
    # modelImageRepositories); an image in another repository of this account's ECR is refused before deploying.
    image_repository_arns: list[str] = Field(default_factory=list)
    # The role EventBridge Scheduler assumes to ask for a model's scheduled start or stop (it may set only the
    # `scheduledAction` attribute of the models table's items); without it, schedules run on the api's clock only.
    scheduler_role_arn: str | None = None


class RagStoreOutputs(CamelModel):
    repository: RagRepositoryConfig
    # pgvector: host/port/database of the RDS instance and the secret with its credentials.
    endpoint: str | None = None
    port: int | None = None
    database: str | None = None
    credentials_secret_arn: str | None = None


class PlatformOutputs(CamelModel):
    deployment_name: str
    deployment_stage: str
    region: str
    account_id: str | None = None
    tables: Tables
    buckets: Buckets
    master_key_secret_id: str
    auth: AuthOutputs
    model_hosting: ModelHostingOutputs
    rag_stores: list[RagStoreOutputs] = Field(default_factory=list)
    static_models: list[LiteLLMModelEntry] = Field(default_factory=list)
    rate_limits: RateLimitConfig = Field(default_factory=RateLimitConfig)
    # The stage's litellmConfig.litellm_settings: how serve calls every LiteLLM-routed model.
    litellm_settings: LiteLLMSettings = Field(default_factory=LiteLLMSettings)
    # The stage's maxGpuInstances: GPU instances all hosted models together may scale to (checked by the api).
    max_gpu_instances: int = Field(default=16, ge=1)
    # The stage's ragPipelineBuckets: the only buckets the api may read and route events from for RAG pipelines.
    rag_pipeline_buckets: list[str] = Field(default_factory=list)
    serve_url: str | None = None
    api_url: str | None = None
    web_url: str | None = None
    state_backend_url: str | None = None

    def model_stack_name(self, model_id: str) -> str:
        return naming.model_stack(self.deployment_name, self.deployment_stage, model_id)

    def repository_stack_name(self, repository_id: str) -> str:
        return naming.repository_stack(self.deployment_name, self.deployment_stage, repository_id)

    def repository(self, repository_id: str) -> RagStoreOutputs | None:
        return next((s for s in self.rag_stores if s.repository.repository_id == repository_id), None)


def load_platform(environ: dict[str, str] | None = None) -> PlatformOutputs:
    """The platform outputs from `LISA_PLATFORM` (JSON) or `LISA_PLATFORM_FILE` (a path)."""
    env = os.environ if environ is None else environ
    if env.get("LISA_PLATFORM"):
        data: Any = json.loads(env["LISA_PLATFORM"])
    elif env.get("LISA_PLATFORM_FILE"):
        data = json.loads(Path(env["LISA_PLATFORM_FILE"]).read_text())
    else:
        raise RuntimeError("set LISA_PLATFORM (JSON) or LISA_PLATFORM_FILE to the core stack's `platform` output")
    return PlatformOutputs.model_validate(data)
