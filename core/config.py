"""The stage configuration: everything one `pulumi up -s <stage>` needs, validated before any resource exists.

Read from the stack's Pulumi config under the `lisa:` namespace (see `Pulumi.dev.yaml`). Field names follow LISA's
`config.yaml`; `litellmConfig` keeps LiteLLM's own snake_case keys because it is handed to LiteLLM as is.
"""

from __future__ import annotations

import ipaddress
import json
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, SecretStr, ValidationError, field_validator, model_validator

from core.errors import ConfigError
from core.models import MODEL_ID_PATTERN, ModelType
from core.rag import S3_BUCKET_PATTERN
from core.schema import UNION_TAG, CamelModel, describe_validation_errors

DEPLOYMENT_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,14}[a-z0-9]$"
REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$"
ARN_PATTERN = r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$"
ECR_REPOSITORY_PATTERN = r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"


class Stage(str, Enum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class RemovalPolicy(str, Enum):
    DESTROY = "destroy"
    RETAIN = "retain"


class NewVpcConfig(CamelModel):
    vpc_cidr: str = "10.0.0.0/16"
    # One NAT gateway per AZ survives an AZ outage; one in total is the cheap choice for dev.
    nat_gateways: Annotated[int, Field(ge=1, le=2)] = 1

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"expected an IPv4 network in CIDR form such as 10.0.0.0/16 ({exc})") from None
        if not 16 <= net.prefixlen <= 22:
            raise ValueError("the VPC prefix must be between /16 and /22 (room for 4 subnets of /20 to /24)")
        if not net.is_private:
            raise ValueError("the VPC CIDR must be a private range (RFC 1918)")
        return value


class ExistingVpcConfig(CamelModel):
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$")
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(min_length=2)
    public_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct(self) -> ExistingVpcConfig:
        overlap = set(self.private_subnet_ids) & set(self.public_subnet_ids)
        if overlap:
            raise ValueError(f"a subnet cannot be both private and public: {', '.join(sorted(overlap))}")
        return self


def _vpc_kind(value: Any) -> str:
    # Pick the branch from the keys so errors name the fields of the branch the user meant.
    if isinstance(value, dict):
        existing = "vpcId" in value or "vpc_id" in value
    else:
        existing = isinstance(value, ExistingVpcConfig)
    return f"{UNION_TAG}existing" if existing else f"{UNION_TAG}new"


VpcConfig = Annotated[
    Union[Annotated[NewVpcConfig, Tag(f"{UNION_TAG}new")], Annotated[ExistingVpcConfig, Tag(f"{UNION_TAG}existing")]],
    Discriminator(_vpc_kind),
]


class AccessGroups(CamelModel):
    """LISA's roles by group membership (empty: the role is not used). `userGroup`: only its members (and admins and
    RAG admins) may use the platform at all; `ragAdminGroup`: manages repositories and their documents besides
    admins; `apiGroup`: may issue their own API tokens besides admins."""

    user_group: str = ""
    rag_admin_group: str = ""
    api_group: str = ""


class OidcAuthConfig(AccessGroups):
    """An existing OpenID Connect provider (Cognito pool, Keycloak, Entra ID…)."""

    provider: Literal["oidc"] = "oidc"
    authority: str = Field(pattern=r"^https://\S+$", description="the issuer URL, https")
    client_id: str = Field(min_length=1)
    admin_group: str = Field(min_length=1)
    jwt_groups_property: str = Field(default="cognito:groups", min_length=1)
    additional_scopes: list[str] = Field(default_factory=list)


class CognitoAuthConfig(AccessGroups):
    """A Cognito user pool, app client and admin group created by the stack."""

    provider: Literal["cognito"]
    admin_group: str = Field(default="lisa-admins", min_length=1)
    domain_prefix: str | None = Field(default=None, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
    callback_urls: list[Annotated[str, Field(pattern=r"^https?://\S+$")]] = Field(default_factory=list)
    mfa: Literal["off", "optional", "on"] = "optional"
    additional_scopes: list[str] = Field(default_factory=list)

    @property
    def jwt_groups_property(self) -> str:
        return "cognito:groups"


def _auth_kind(value: Any) -> str | None:
    # LISA's authConfig has no `provider` key: without one it is an external OIDC provider.
    if isinstance(value, (OidcAuthConfig, CognitoAuthConfig)):
        return f"{UNION_TAG}{value.provider}"
    if isinstance(value, dict) and value.get("provider", "oidc") in ("oidc", "cognito"):
        return f"{UNION_TAG}{value.get('provider', 'oidc')}"
    return None


AuthConfig = Annotated[
    Union[Annotated[OidcAuthConfig, Tag(f"{UNION_TAG}oidc")], Annotated[CognitoAuthConfig, Tag(f"{UNION_TAG}cognito")]],
    Discriminator(_auth_kind, custom_error_type="auth_provider",
                  custom_error_message="expected an object whose provider is 'oidc' (the default) or 'cognito'"),
]


class CertificateConfig(CamelModel):
    acm_certificate_arn: str | None = Field(default=None, pattern=ARN_PATTERN)
    # An IAM server certificate, as LISA's dev recipe uploads a self-signed one.
    iam_certificate_arn: str | None = Field(default=None, pattern=ARN_PATTERN)
    self_signed: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> CertificateConfig:
        chosen = [self.acm_certificate_arn is not None, self.iam_certificate_arn is not None, self.self_signed]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of acmCertificateArn, iamCertificateArn or selfSigned: true")
        return self

    @property
    def arn(self) -> str | None:
        return self.acm_certificate_arn or self.iam_certificate_arn


# Fargate's valid task sizes: cpu units → the memory sizes (MiB) it accepts.
FARGATE_MEMORY_MIB: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


def _sizes(sizes: tuple[int, ...]) -> str:
    if len(sizes) <= 4:
        return ", ".join(map(str, sizes))
    return f"{sizes[0]} to {sizes[-1]} in steps of {sizes[1] - sizes[0]}"


class RateLimit(CamelModel):
    rpm: int = Field(ge=1, le=100_000_000)
    burst: int = Field(ge=1, le=100_000_000)

    @property
    def rate_per_s(self) -> float:
        return self.rpm / 60.0


RATE_LIMIT_KEY = r"^(token|oidc|user|group):\S+$"


class RateLimitConfig(CamelModel):
    """Requests per minute per caller, with a burst (LISA's rateLimitRpm/Burst/Enabled/Overrides), enforced by serve
    across all its workers and tasks.

    `overrides` keys are `token:<tokenUUID>`, `oidc:<sub>`, `user:<username>` or `group:<group>`; a caller's limit is
    the first that names it in that order (of several groups, the most generous). `models` adds, for the models it
    names, a bucket per caller and model on top of the caller's own."""

    enabled: bool = True
    rpm: int = Field(default=60, ge=1, le=100_000_000)
    burst: int = Field(default=10, ge=1, le=100_000_000)
    exempt_admins: bool = True
    overrides: dict[Annotated[str, Field(pattern=RATE_LIMIT_KEY)], RateLimit] = Field(default_factory=dict)
    models: dict[str, RateLimit] = Field(default_factory=dict)

    @property
    def default(self) -> RateLimit:
        return RateLimit(rpm=self.rpm, burst=self.burst)

    def limit_for(self, caller_keys: list[str], groups: tuple[str, ...] | list[str]) -> RateLimit:
        for key in caller_keys:
            limit = self.overrides.get(key)
            if limit is not None:
                return limit
        by_group = [self.overrides[f"group:{g}"] for g in groups if f"group:{g}" in self.overrides]
        if by_group:
            return max(by_group, key=lambda limit: (limit.rpm, limit.burst))
        return self.default


class ServeConfig(CamelModel):
    """Sizing of the serve (and api) tasks on Fargate, and serve's rate limits."""

    cpu: Literal[256, 512, 1024, 2048, 4096, 8192, 16384] = 1024
    memory_mib: Annotated[int, Field(ge=512, le=122_880)] = 2048
    min_tasks: Annotated[int, Field(ge=1, le=100)] = 1
    max_tasks: Annotated[int, Field(ge=1, le=100)] = 4
    image: str | None = Field(default=None, description="prebuilt serve image; defaults to one built from services/")
    target_requests_per_task: Annotated[int, Field(ge=1)] = 500
    rate_limits: RateLimitConfig = Field(default_factory=RateLimitConfig)

    @model_validator(mode="after")
    def _bounds(self) -> ServeConfig:
        if self.min_tasks > self.max_tasks:
            raise ValueError(f"minTasks: {self.min_tasks} must not exceed maxTasks ({self.max_tasks})")
        sizes = FARGATE_MEMORY_MIB[self.cpu]
        if self.memory_mib not in sizes:
            raise ValueError(f"memoryMib: Fargate with cpu {self.cpu} takes {_sizes(sizes)} MiB, not {self.memory_mib}")
        return self


class OpenSearchConfig(CamelModel):
    data_nodes: Annotated[int, Field(ge=1, le=20)] = 2
    data_node_instance_type: str = "r7g.large.search"
    master_nodes: Annotated[int, Field(ge=0, le=5)] = 0
    master_node_instance_type: str = "r7g.large.search"
    volume_size_gib: Annotated[int, Field(ge=10, le=3000)] = 20

    @field_validator("master_nodes")
    @classmethod
    def _odd_masters(cls, value: int) -> int:
        if value not in (0, 3, 5):
            raise ValueError("dedicated master nodes must be 0, 3 or 5")
        return value


class RdsConfig(CamelModel):
    instance_class: str = Field(default="db.t4g.medium", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    allocated_storage_gib: Annotated[int, Field(ge=20, le=65536)] = 20
    username: str = Field(default="lisa", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    multi_az: bool = False


class RagRepositoryConfig(CamelModel):
    repository_id: str = Field(pattern=MODEL_ID_PATTERN)
    type: Literal["opensearch", "pgvector"]
    allowed_groups: list[str] = Field(default_factory=list, description="empty: every signed-in user")
    chunk_size: Annotated[int, Field(ge=100, le=10_000)] = 512  # LISA's fixed chunking: 100-10,000
    chunk_overlap: Annotated[int, Field(ge=0, le=5_000)] = 51
    default_embedding_model: str | None = None
    opensearch_config: OpenSearchConfig | None = None
    rds_config: RdsConfig | None = None

    @model_validator(mode="after")
    def _store(self) -> RagRepositoryConfig:
        if self.chunk_overlap > self.chunk_size / 2:
            raise ValueError(f"chunkOverlap: {self.chunk_overlap} must be at most half the chunkSize ({self.chunk_size})")
        if self.type == "opensearch":
            if self.rds_config is not None:
                raise ValueError("rdsConfig: applies to pgvector repositories only")
            self.opensearch_config = self.opensearch_config or OpenSearchConfig()
        else:
            if self.opensearch_config is not None:
                raise ValueError("opensearchConfig: applies to opensearch repositories only")
            self.rds_config = self.rds_config or RdsConfig()
        return self


class LiteLLMParams(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=3, pattern=r"^[a-z0-9_-]+/\S+$")


class LisaParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_type: ModelType
    streaming: bool = False
    allowed_groups: list[str] = Field(default_factory=list)  # empty: every signed-in user

    @model_validator(mode="after")
    def _embedding(self) -> LisaParams:
        if self.model_type is ModelType.EMBEDDING and self.streaming:
            raise ValueError("streaming: embedding models cannot stream")
        return self


class LiteLLMModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_name: str = Field(min_length=1)
    litellm_params: LiteLLMParams
    lisa_params: LisaParams


class LiteLLMGeneralSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    master_key: SecretStr

    @field_validator("master_key")
    @classmethod
    def _prefix(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if not secret.startswith("sk-") or len(secret) < 12:
            raise ValueError("the master key must start with 'sk-' and be at least 12 characters")
        return value


class LiteLLMSettings(BaseModel):
    """The `litellm_settings` serve applies to every LiteLLM-routed model. Anything else is refused: LiteLLM's proxy
    reads many more, but serve is not that proxy and would silently ignore them."""

    model_config = ConfigDict(extra="forbid")
    drop_params: bool = Field(default=False, description="drop request fields a provider does not support")
    request_timeout: float | None = Field(default=None, gt=0, le=3600,
                                          description="seconds per upstream call; default serve's upstream timeout")
    num_retries: int = Field(default=0, ge=0, le=5, description="retries of a failed upstream call")
    # LISA's README recommends `telemetry: false`; serve never sends telemetry, so only false is meaningful.
    telemetry: Literal[False] = False

    @model_validator(mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        if isinstance(value, dict):
            unknown = sorted(k for k in value if k not in cls.model_fields)
            if unknown:
                raise ValueError(f"serve does not apply {', '.join(unknown)}; it takes "
                                 f"{', '.join(cls.model_fields)} (telemetry: false only)")
        return value


class LiteLLMConfig(BaseModel):
    """Handed to LiteLLM as is, so it keeps LiteLLM's snake_case keys."""

    model_config = ConfigDict(extra="forbid")
    general_settings: LiteLLMGeneralSettings
    litellm_settings: LiteLLMSettings = Field(default_factory=LiteLLMSettings)
    model_list: list[LiteLLMModelEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> LiteLLMConfig:
        names = [m.model_name for m in self.model_list]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"model_list: names must be unique; repeated: {', '.join(duplicates)}")
        return self


class StageConfig(CamelModel):
    deployment_name: str = Field(pattern=DEPLOYMENT_NAME_PATTERN, description="2-16 lowercase letters, digits, hyphens")
    deployment_stage: Stage
    region: str = Field(pattern=REGION_PATTERN)
    account_number: str | None = Field(default=None, pattern=r"^\d{12}$")
    vpc: VpcConfig = Field(default_factory=NewVpcConfig)
    auth_config: AuthConfig
    serve_config: ServeConfig = Field(default_factory=ServeConfig)
    certificate: CertificateConfig
    rag_repositories: list[RagRepositoryConfig] = Field(default_factory=list)
    litellm_config: LiteLLMConfig
    tags: dict[str, str] = Field(default_factory=dict)
    removal_policy: RemovalPolicy | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    web_app_assets_path: str | None = "web/dist"
    # Ceiling on GPU instances across all hosted models, so a typo in one model's autoscaling cannot run away.
    max_gpu_instances: Annotated[int, Field(ge=1, le=1000)] = 16
    # The ECR repositories (names, in the stage's account and region) hosted models may take their images from;
    # model tasks can pull from these and from public registries only.
    model_image_repositories: list[Annotated[str, Field(pattern=ECR_REPOSITORY_PATTERN, max_length=256)]] = Field(
        default_factory=list)
    # The S3 buckets RAG pipelines may watch (repositories' and collections' `pipelines`): the api may read them and
    # route their events to the repositories' queues, nothing more; a pipeline on any other bucket is refused.
    rag_pipeline_buckets: list[Annotated[str, Field(pattern=S3_BUCKET_PATTERN)]] = Field(default_factory=list)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = [k for k in value if k.lower().startswith("aws:")]
        if reserved:
            raise ValueError(f"tag keys starting with 'aws:' are reserved: {', '.join(reserved)}")
        return value

    @model_validator(mode="after")
    def _stage_rules(self) -> StageConfig:
        ids = [r.repository_id for r in self.rag_repositories]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"ragRepositories: repositoryId must be unique; repeated: {', '.join(repeated)}")
        if self.deployment_stage is Stage.PROD and self.certificate.self_signed:
            raise ValueError("certificate.selfSigned: a prod stage needs a real certificate (acmCertificateArn)")
        if self.removal_policy is None:
            self.removal_policy = RemovalPolicy.RETAIN if self.deployment_stage is Stage.PROD else RemovalPolicy.DESTROY
        return self

    @property
    def uses_existing_vpc(self) -> bool:
        return isinstance(self.vpc, ExistingVpcConfig)

    @property
    def all_tags(self) -> dict[str, str]:
        return {"lisa:deployment": self.deployment_name, "lisa:stage": self.deployment_stage.value, **self.tags}


def parse_stage_config(raw: dict[str, Any]) -> StageConfig:
    """Validate a raw stage config; ConfigError lists every problem with its field path."""
    try:
        return StageConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_errors(exc.errors())) from None


def config_from_pulumi_values(values: dict[str, str], namespace: str = "lisa") -> dict[str, Any]:
    """Turn Pulumi's flat `{"lisa:key": "<json or string>"}` config map into the raw stage dict."""
    raw: dict[str, Any] = {}
    prefix = f"{namespace}:"
    for key, value in values.items():
        if not key.startswith(prefix):
            continue
        try:
            raw[key[len(prefix):]] = json.loads(value)
        except (TypeError, ValueError):
            raw[key[len(prefix):]] = value
    # Pulumi stores every scalar as a string; these two must stay strings even when they look like numbers.
    for name in ("deploymentName", "accountNumber"):
        if name in raw and not isinstance(raw[name], str):
            raw[name] = json.dumps(raw[name])
    return raw
