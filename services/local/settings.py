"""Settings of the local stack (`python -m services.local` / `make run`): environment variables prefixed `LISA_`,
each also a command-line flag (`--serve-port 9000` = `LISA_SERVE_PORT=9000`). A port of 0 picks a free one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO = Path(__file__).resolve().parents[2]

Port = Annotated[int, Field(ge=0, le=65535)]

# field -> (what listens there, for messages naming a port)
PORTS = {
    "emulator_port": "the AWS emulator (moto)",
    "pg_port": "the embedded PostgreSQL",
    "opensearch_port": "the embedded OpenSearch",
    "embeddings_port": "the local embedding server",
    "serve_port": "the serve gateway (OpenAI-compatible API)",
    "api_port": "the api app (admin, sessions, RAG)",
    "web_port": "the web UI",
    "generation_port": "the local chat model",
}


class LocalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_", extra="ignore")

    state_dir: Path = REPO / ".lisa"
    stage: str = Field(default="dev", description="reads Pulumi.<stage>.yaml")
    emulator_port: Port = 5055
    pg_port: Port = 55432
    opensearch_port: Port = 9200
    embeddings_port: Port = 8083
    serve_port: Port = 8080
    api_port: Port = 8081
    web_port: Port = 3000
    generation_port: Port = 8084
    # The bundled chat model (services/generation), so chat works with no model server of your own.
    local_chat_model: bool = True
    # The user's own OpenAI-compatible server (Ollama, vLLM, llama.cpp, ...), registered as LiteLLM-only models.
    upstream_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    upstream_api_key: SecretStr | None = None
    upstream_models: Annotated[list[str], NoDecode] = Field(default_factory=list, description="default: its /models")
    web_dist: Path = REPO / "web" / "dist"
    emulator_snapshot_s: float = Field(default=30.0, ge=0,
                                       description="most seconds between emulator snapshots while changes go on")
    ready_timeout_s: float = Field(default=120.0, gt=0)
    model_ready_timeout_s: float = Field(default=180.0, gt=0, description="wait for models registered at start")

    @field_validator("upstream_models", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("upstream_url")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    def port_flag(self, field: str) -> str:
        return f"--{field.replace('_', '-')} or LISA_{field.upper()}"

    def needed_ports(self) -> dict[str, str]:
        """PORTS, less the chat model's when it is not started."""
        return {f: purpose for f, purpose in PORTS.items() if f != "generation_port" or self.local_chat_model}
