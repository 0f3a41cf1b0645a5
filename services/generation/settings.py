"""Settings of the local chat server (environment variables prefixed LISA_GENERATION_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.model_server import ModelServerSettings


class GenerationServerSettings(ModelServerSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_GENERATION_")

    port: int = Field(default=8084, ge=0, le=65535)
    model_name: str = "smollm2-135m-instruct"
    # llama.cpp's OpenMP threads busy-wait between tokens by default: on a shared 2-core machine that collapses
    # generation (1.5 instead of 26 tokens/s measured here under load) and starves every other process.
    spin: bool = False
    parallel: int = Field(default=2, ge=1, le=16, description="answers generated at once (llama.cpp slots)")
    queue: int = Field(default=8, ge=0, le=1000, description="requests that may wait for a slot; more get a 429")
    context_tokens: int = Field(default=4096, ge=256, le=8192, description="prompt + answer, per request")
    max_output_tokens: int = Field(default=1024, ge=1, le=8192, description="the default and the cap of max_tokens")
    # llama.cpp keeps past conversations' KV cache in memory to resume them fast (8 GiB by default): bounded here.
    prompt_cache_mib: int = Field(default=256, ge=0, description="memory for cached conversations; 0 = none")
    max_body_kib: int = Field(default=1024, ge=1, description="request bodies larger than this are refused (413)")
