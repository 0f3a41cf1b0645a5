"""Identity's settings, shared by both apps (environment variables prefixed `LISA_AUTH_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_AUTH_", extra="ignore")

    # A rotated master key reaches every process within the TTL; the old one keeps working for the grace after a
    # process sees the new one, so processes that have not re-read it yet still talk to each other (keep the grace
    # above the TTL). A leaked old key stops working within TTL + grace.
    master_key_ttl_s: float = Field(default=30.0, gt=0, le=3600)
    master_key_grace_s: float = Field(default=40.0, ge=0, le=3600)
    # Verified credentials and unknown API tokens remembered per process (least recently used out first).
    max_cached_credentials: int = Field(default=10_000, ge=10, le=1_000_000)
    # API-token table reads one process runs at once: a flood of random tokens waits here instead of piling up reads.
    max_token_lookups: int = Field(default=32, ge=1, le=1024)
