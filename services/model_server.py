"""What the local model servers (services.embeddings, services.generation) share: their settings' common fields and
their command line."""

from __future__ import annotations

import argparse
from typing import Callable

import uvicorn
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings


class ModelServerSettings(BaseSettings):
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    # The id /v1/models lists and responses name.
    model_name: str
    # When set, requests need `Authorization: Bearer <key>` (for a deployment outside a private network).
    api_key: SecretStr | None = None
    threads: int = Field(default=0, ge=0, description="inference threads; 0 = one per core")


def run(description: str, settings: ModelServerSettings, create_app: Callable) -> None:
    """`python -m services.<server> [--host H] [--port P]`: flags override the settings' host and port."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning", access_log=False)
