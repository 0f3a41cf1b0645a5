"""Settings of the local embedding server (environment variables prefixed LISA_EMBEDDINGS_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.model_server import ModelServerSettings


class EmbeddingServerSettings(ModelServerSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_EMBEDDINGS_")

    port: int = Field(default=8083, ge=0, le=65535)
    model_name: str = "all-minilm-l6-v2"
    # Texts per model run. On AVX2 CPUs without VNNI the int8 model is ~15% faster in runs of 4-16 than of 32+.
    batch_size: int = Field(default=8, ge=1, le=256)
    # onnxruntime's worker threads busy-wait after each run by default: a little faster back to back, but on a small
    # machine they take the cores the api, serve and Postgres need between runs (benchmarks/rag.py measures both).
    spin: bool = False
    max_inputs: int = Field(default=2048, ge=1, description="inputs per request, OpenAI's limit")
    max_input_chars: int = Field(default=100_000, ge=1, description="characters per input (tokens past 256 are cut anyway)")
