"""Serve's settings, from the environment (prefix `LISA_SERVE_`). The platform itself comes from `LISA_PLATFORM`
(JSON) or `LISA_PLATFORM_FILE` (a path), read by core.platform.load_platform."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.origins import Origins


class ServeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_SERVE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Web UI origins allowed to call serve from a browser (comma-separated); empty: no CORS headers at all.
    cors_origins: Origins = Field(default_factory=list)
    upstream_timeout_s: float = Field(default=600.0, gt=0, description="wait for headers, then for each stream chunk")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    registry_poll_s: float = Field(default=0.25, gt=0)
    # How often this worker reports the registry version it routes (also right after each rebuild): the api says
    # InService/Stopped once every worker heard from within LISA_ENGINE_SERVE_STALE_S routes the change.
    heartbeat_s: float = Field(default=5.0, gt=0, le=300)  # one small GetItem per tick: cheap, and keeps new models routable fast
    # Off: every model goes through LiteLLM (a kill switch, and how the LiteLLM path is tested and benchmarked).
    passthrough: bool = True
    jwks_min_refresh_s: float = Field(default=30.0, ge=0, description="least time between two JWKS fetches")
    max_body_mib: int = Field(default=32, ge=1, le=1024)
    # Idle seconds an HTTP/1.1 connection is kept open. Behind a load balancer it must exceed the balancer's idle
    # timeout, or the app closes a connection the balancer is about to reuse (sporadic 502s); the core stack sets it.
    keep_alive_s: int = Field(default=620, ge=1, le=4000)
    usage_flush_s: float = Field(default=2.0, gt=0, le=300, description="how often usage rows are written")
    # How long a worker may spend a slice of rate-limit tokens it leased (bounds what it carries into a next minute).
    rate_limit_slice_ttl_s: float = Field(default=2.0, gt=0, le=600)
    # /metrics without a credential (a scraper inside the VPC); otherwise only admins may read it.
    metrics_public: bool = False
