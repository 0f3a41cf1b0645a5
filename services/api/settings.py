"""The api app's settings, from the environment (every variable is listed in the README).

The platform itself (tables, buckets, model hosting, auth) comes from `LISA_PLATFORM` / `LISA_PLATFORM_FILE`
(core.platform.load_platform); these are the knobs of the app and its deployment engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from providers.hosted_model_plan import DEFAULT_WEIGHTS_IMAGE
from services.origins import Origins


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_", extra="ignore")

    # `python -m services.api` listens here (the core stack's task definition sets 0.0.0.0 and its port).
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Idle seconds an HTTP/1.1 connection is kept open: above the load balancer's idle timeout (see serve's).
    keep_alive_s: int = Field(default=620, ge=1, le=4000)
    # /docs, /redoc and /openapi.json: off unless enabled (the local stack does; the core stack's task does not).
    api_docs: bool = False

    # Where the engine keeps one Pulumi workspace folder per model stack (Pulumi.yaml + stack settings).
    engine_work_dir: Path = Field(default=Path(".lisa/model-stacks"))
    # State backend of the model stacks. Unset: the deployment-state bucket (s3://), pointed at the emulator when
    # LISA_AWS_ENDPOINT_URL is set. The local stack uses file://<state dir>.
    pulumi_backend_url: str | None = None
    # Folder holding bin/pulumi (and the dynamic-provider host beside it). Unset: `pulumi` on PATH.
    pulumi_root: Path | None = None
    pulumi_home: Path | None = None
    # The model stacks hold no secret (the providers are pickled by reference), but Pulumi insists on a secrets
    # provider: a passphrase, or e.g. awskms://alias/<key> via LISA_PULUMI_SECRETS_PROVIDER.
    pulumi_config_passphrase: SecretStr = Field(
        default=SecretStr("lisa-model-stacks"),
        validation_alias=AliasChoices("LISA_PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE"),
    )
    pulumi_secrets_provider: str | None = None
    engine_max_jobs: int = Field(default=16, ge=1, le=256)  # model jobs running at once (one per model at most)
    engine_events_per_model: int = Field(default=200, ge=10, le=10_000)
    # Resume the models a previous process left transitional, and run the background passes (sweep, drift check,
    # schedules). Off only where several test apps share one stage's models table with stack backends of their own.
    engine_resume_on_start: bool = True
    # One warm dynamic-provider process for all model stacks instead of one per CLI run (about 1 CPU-s less each).
    engine_shared_provider_host: bool = True
    # InService/Stopped is said once every serve worker routes the change: each reports the registry version it
    # routes in the models table (core/serve_heartbeats.py). Past this wait the model is Failed with the reason.
    engine_routing_ack_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    # A serve worker not heard from for this long is gone (scaled in, crashed) and no longer waited for; serve
    # reports every LISA_SERVE_HEARTBEAT_S (5 s).
    engine_serve_stale_s: float = Field(default=30.0, gt=0, le=3600)
    # Every this often, models left transitional with no job here are picked up (a job lost with another api
    # process).
    engine_sweep_s: float = Field(default=30.0, gt=0, le=3600)
    # Every this often each settled model's stack is refreshed in preview mode and its drift recorded; 0: never
    # (the local stack's default; a deployed stage sets e.g. 3600).
    engine_drift_check_s: float = Field(default=0.0, ge=0, le=7 * 86400)
    # Model schedules (services/api/model_scheduler.py) are looked at every this often. `clock`: the api runs the
    # starts and stops on its own clock; `eventbridge`: it runs what the models' EventBridge schedules ask for;
    # `auto`: `clock` against an emulator (nothing fires there), else `eventbridge`.
    model_scheduler: Literal["auto", "clock", "eventbridge"] = "auto"
    model_scheduler_tick_s: float = Field(default=30.0, gt=0, le=3600)
    # Refusals written to the audit log per source and action each minute; the rest of the minute becomes one
    # `suppressed` summary (services/governance/audit.py).
    audit_refusals_per_minute: int = Field(default=20, ge=1, le=100_000)
    # How long a job retries AWS calls that fail transiently (throttles, 5xx, lost connections) before the model
    # is settled Failed with the reason.
    engine_aws_retry_s: float = Field(default=120.0, gt=0, le=3600)
    # A model's job holds a lease in the models table, renewed every ttl/3: a crashed process's models are taken
    # over (their stale stack lock freed) once its lease runs out.
    engine_lease_ttl_s: float = Field(default=30.0, ge=3, le=3600)
    # How a hosted model proves it is ready: `healthy` (tasks running and passing the ALB health check) or
    # `deployed` (every part exists: for the emulator, where nothing runs). `auto`: `deployed` when
    # LISA_AWS_ENDPOINT_URL points at an emulator, else `healthy`.
    model_readiness: Literal["auto", "healthy", "deployed"] = "auto"
    model_ready_timeout_s: int = Field(default=1800, ge=1)
    model_weights_image: str = DEFAULT_WEIGHTS_IMAGE
    # GET /metrics (Prometheus) without a credential, for a scraper inside the VPC; otherwise only admins may read it.
    metrics_public: bool = False
    # Web UI origins allowed to call from a browser, comma-separated (as serve's LISA_SERVE_CORS_ORIGINS); `*`: any.
    cors_origins: Origins = Field(default_factory=lambda: ["*"])
