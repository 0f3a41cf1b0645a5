"""Models whose upstream does not speak OpenAI's API (Bedrock, SageMaker, …) go through a LiteLLM Router.

LiteLLM is imported only when such a model exists: it costs seconds to import and ~10 ms of CPU per call (measured,
see benchmarks/gateway.py), which is why OpenAI-compatible upstreams bypass it.
"""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator

from core.config import LiteLLMSettings
from core.openai_requests import CHAT, FIELDS
from services.serve.inference import Usage
from services.serve.openai_errors import from_litellm as openai_error_from_litellm
from services.serve.routing import Route
from services.serve.streaming import ChatChunkNormalizer

log = logging.getLogger("lisa.serve.litellm")


def _litellm():
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):  # it logs every call at INFO, twice
        logging.getLogger(name).setLevel(logging.WARNING)
    return litellm


def router_signature(routes: list[Route]) -> tuple:
    """Equal signatures → the same Router can stay (a reload that changed only pass-through models keeps it)."""
    return tuple(sorted((r.name, repr(sorted(r.litellm_params.items()))) for r in routes))


def litellm_kwargs(endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
    """LiteLLM's call kwargs, built only from the endpoint's allow-listed OpenAI fields: LiteLLM lets kwargs such as
    api_base override a deployment's params, so nothing else may get in (serve has refused it already; this keeps
    it true for any caller of this class)."""
    allowed = FIELDS[endpoint]
    return {k: v for k, v in payload.items() if k in allowed}


def router_config(routes: list[Route], settings: LiteLLMSettings, *, timeout_s: float) -> dict[str, Any]:
    """The Router's arguments: the stage's litellm_settings applied to every deployment (a model's own
    drop_params wins), serve's upstream timeout unless the stage sets request_timeout."""
    timeout = settings.request_timeout or timeout_s
    defaults = {"drop_params": True} if settings.drop_params else {}
    model_list = [{"model_name": r.name, "litellm_params": {**defaults, **r.litellm_params, "timeout": timeout}}
                  for r in routes]
    return {"model_list": model_list, "num_retries": settings.num_retries, "timeout": timeout}


class LiteLLMModels:
    def __init__(self, routes: list[Route], *, timeout_s: float, settings: LiteLLMSettings | None = None) -> None:
        litellm = _litellm()
        self.signature = router_signature(routes)
        self.router = litellm.Router(**router_config(routes, settings or LiteLLMSettings(), timeout_s=timeout_s))

    async def call(self, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
        args = litellm_kwargs(endpoint, payload)
        args.pop("stream", None)
        args.pop("stream_options", None)
        try:
            if endpoint == "chat/completions":
                response = await self.router.acompletion(**args)
            elif endpoint == "completions":
                response = await self.router.atext_completion(**args)
            else:
                response = await self.router.aembedding(**args)
        except Exception as exc:  # noqa: BLE001 (every provider error becomes an OpenAI error)
            raise openai_error_from_litellm(exc) from None
        return _plain(response)

    async def stream_chat(self, payload: dict[str, Any], *,
                          include_usage: bool) -> AsyncIterator[tuple[dict[str, Any] | None, Usage | None]]:
        """OpenAI-exact chat chunks (see streaming.ChatChunkNormalizer), then the usage LiteLLM reported. The usage
        is always asked for (it is metered); its chunk reaches the client only when `include_usage` asks."""
        normalizer = ChatChunkNormalizer(payload["model"], include_usage)
        args = {**litellm_kwargs(CHAT, payload), "stream": True, "stream_options": {"include_usage": True}}
        try:
            stream = await self.router.acompletion(**args)
            async for chunk in stream:
                for out in normalizer.feed(_plain(chunk)):
                    yield out, None
        except Exception as exc:  # noqa: BLE001
            raise openai_error_from_litellm(exc) from None
        for out in normalizer.finish():
            yield out, None
        yield None, Usage.of(normalizer.usage)


def _plain(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    return obj.model_dump(exclude_none=True) if hasattr(obj, "model_dump") else dict(obj)
