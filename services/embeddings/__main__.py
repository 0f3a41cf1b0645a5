"""Run the local embedding server: python -m services.embeddings [--host H] [--port P]."""

from services.embeddings.server import create_app
from services.embeddings.settings import EmbeddingServerSettings
from services.model_server import run

if __name__ == "__main__":
    run("OpenAI-compatible /v1/embeddings on all-MiniLM-L6-v2 (int8 ONNX)", EmbeddingServerSettings(), create_app)
