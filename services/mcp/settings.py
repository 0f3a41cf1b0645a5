"""Settings of MCP connections and the tool loop (environment variables prefixed LISA_MCP_)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split(value: object) -> object:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _networks(value: object) -> object:
    value = _split(value)
    if isinstance(value, list):
        return [ip_network(v, strict=False) if isinstance(v, str) else v for v in value]
    return value


Networks = Annotated[list[IPv4Network | IPv6Network], NoDecode, BeforeValidator(_networks)]


class McpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_MCP_")

    # Private or loopback networks an MCP URL may reach, comma-separated CIDRs (e.g. `10.20.0.0/16` for MCP servers
    # inside the VPC). Empty: public addresses only. Link-local and cloud metadata addresses are never reachable,
    # whatever this says. The local stack opens 127.0.0.0/8 (one person's machine).
    allowed_networks: Networks = Field(default_factory=list)
    connect_timeout_s: float = Field(default=10.0, gt=0, le=120, description="connect and list tools, per server")
    call_timeout_s: float = Field(default=60.0, gt=0, le=3600, description="one tool call")
    max_rounds: int = Field(default=8, ge=1, le=50, description="model ↔ tools rounds before a final answer")
    result_max_chars: int = Field(default=20_000, ge=100, le=1_000_000, description="a tool result beyond is cut")
    approval_timeout_s: float = Field(default=300.0, gt=0, le=3600, description="a call awaiting approval expires")
    approval_poll_s: float = Field(default=0.25, gt=0, le=10)
    max_servers: int = Field(default=8, ge=1, le=64, description="connections named in one chat request")
    max_headers_bytes: int = Field(default=8192, ge=256, le=65536, description="custom headers of one connection")
