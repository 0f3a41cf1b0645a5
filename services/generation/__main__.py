"""Run the local chat server: python -m services.generation [--host H] [--port P]."""

from services.generation.server import create_app
from services.generation.settings import GenerationServerSettings
from services.model_server import run

if __name__ == "__main__":
    run("OpenAI-compatible /v1/chat/completions on SmolLM2-135M-Instruct", GenerationServerSettings(), create_app)
