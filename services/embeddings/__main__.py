"""Run the local embedding server: python -m services.embeddings [--host H] [--port P]."""

from __future__ import annotations

import argparse

import uvicorn

from services.embeddings.server import create_app
from services.embeddings.settings import EmbeddingServerSettings


def main() -> None:
    settings = EmbeddingServerSettings()
    parser = argparse.ArgumentParser(description="OpenAI-compatible /v1/embeddings on all-MiniLM-L6-v2 (int8 ONNX)")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
