"""From registrations to routes: which model name goes where, and how (pure; no I/O).

A route is either a pass-through (the upstream speaks OpenAI's API: `openai/…`, `hosted_vllm/…`, `custom_openai/…`
with an `api_base`), sent by serve's own pooled client with the request heads prebuilt here, or a LiteLLM route
(Bedrock, SageMaker and every other provider), called through a LiteLLM Router.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import urlsplit

from core.config import LiteLLMModelEntry
from core.openai_requests import ENDPOINTS
from core.models import ModelType
from core.registry import Registration

log = logging.getLogger("lisa.serve.routing")

PASSTHROUGH_PROVIDERS = frozenset({"openai", "hosted_vllm", "custom_openai"})
# Which endpoints a model type answers; anything else is a 400.
ENDPOINTS_BY_TYPE = {
    ModelType.TEXTGEN: frozenset({"chat/completions", "completions"}),
    ModelType.EMBEDDING: frozenset({"embeddings"}),
}
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "content-type"})


@dataclass(frozen=True)
class Passthrough:
    origin: str  # scheme://host:port, the pool key
    upstream_model: str  # what the upstream calls the model
    heads: dict[str, bytes]  # endpoint → request line + headers, with `%d` for the content length


@dataclass(frozen=True)
class Route:
    name: str
    model_type: ModelType
    streaming: bool
    created: int
    static: bool
    litellm_params: dict[str, Any] = field(repr=False)  # with the api key resolved: never log it
    allowed_groups: frozenset[str] = frozenset()  # empty: every signed-in user
    passthrough: Passthrough | None = None

    def answers(self, endpoint: str) -> bool:
        return endpoint in ENDPOINTS_BY_TYPE[self.model_type]


def provider_of(litellm_model: str) -> str:
    return litellm_model.split("/", 1)[0] if "/" in litellm_model else ""


def registration_from_static(entry: LiteLLMModelEntry) -> Registration:
    params = entry.litellm_params.model_dump()
    return Registration(model_name=entry.model_name, litellm_params=params, model_type=entry.lisa_params.model_type,
                        streaming=entry.lisa_params.streaming, allowed_groups=entry.lisa_params.allowed_groups,
                        static=True, created=0)


def resolve_env_reference(value: Any) -> Any:
    """LiteLLM's config convention: `os.environ/NAME` means the value of that variable."""
    if isinstance(value, str) and value.startswith("os.environ/"):
        return os.environ.get(value.removeprefix("os.environ/"))
    return value


def _request_heads(api_base: str, api_key: str | None, extra_headers: dict[str, str]) -> dict[str, bytes]:
    parts = urlsplit(api_base)
    prefix = parts.path.rstrip("/")
    lines = [f"host: {parts.netloc}", "content-type: application/json", "accept: application/json, text/event-stream"]
    if api_key:
        lines.append(f"authorization: Bearer {api_key}")
    for name, value in extra_headers.items():
        lines.append(f"{name}: {value}")
    block = "".join(f"{line}\r\n" for line in lines)
    return {ep: (f"POST {prefix}/{ep} HTTP/1.1\r\n{block}".encode("latin-1") + b"content-length: %d\r\n\r\n") for ep in ENDPOINTS}


def _checked_headers(raw: Any, model_name: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{model_name}: extra_headers must be an object")
    headers = {}
    for name, value in raw.items():
        value = str(value)
        if not _HEADER_NAME.match(str(name)) or "\r" in value or "\n" in value or name.lower() in _FORBIDDEN_HEADERS:
            raise ValueError(f"{model_name}: extra header {name!r} is not allowed")
        headers[str(name).lower()] = value
    return headers


def plan_route(registration: Registration, api_key: str | None, *, passthrough: bool = True) -> Route:
    """The route for one registration; ValueError when it cannot be routed."""
    params = {k: resolve_env_reference(v) for k, v in registration.litellm_params.items()}
    model = params.get("model")
    if not isinstance(model, str) or "/" not in model:
        raise ValueError(f"{registration.model_name}: litellm_params.model must be '<provider>/<model>'")
    api_key = api_key or params.get("api_key")
    if api_key:
        params["api_key"] = api_key
    elif provider_of(model) in PASSTHROUGH_PROVIDERS:
        params["api_key"] = "no-key"  # LiteLLM's OpenAI client insists on one; a keyless upstream ignores it
    extra_headers = _checked_headers(params.get("extra_headers"), registration.model_name)
    api_base = params.get("api_base")
    direct = None
    if passthrough and provider_of(model) in PASSTHROUGH_PROVIDERS and isinstance(api_base, str) and api_base:
        parts = urlsplit(api_base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{registration.model_name}: api_base must be an http(s) URL")
        direct = Passthrough(origin=f"{parts.scheme}://{parts.netloc}", upstream_model=model.split("/", 1)[1],
                             heads=_request_heads(api_base, api_key or None, extra_headers))
    return Route(name=registration.model_name, model_type=registration.model_type, streaming=registration.streaming,
                 created=registration.created, static=registration.static, litellm_params=params, passthrough=direct,
                 allowed_groups=frozenset(registration.allowed_groups))


def build_routes(registrations: Iterable[Registration], static_models: Iterable[LiteLLMModelEntry],
                 api_keys: dict[str, str], *, passthrough: bool = True) -> dict[str, Route]:
    """Every routable model by the name clients send. A registry entry replaces a static one of the same name;
    one that cannot be routed is left out (and logged) rather than taking the others down."""
    merged: dict[str, Registration] = {e.model_name: registration_from_static(e) for e in static_models}
    for registration in registrations:
        if registration.model_name in merged and merged[registration.model_name].static:
            log.warning("registered model %s replaces the static model of the same name", registration.model_name)
        merged[registration.model_name] = registration
    routes = {}
    for name, registration in merged.items():
        key = api_keys.get(registration.api_key_secret_id) if registration.api_key_secret_id else None
        try:
            routes[name] = plan_route(registration, key, passthrough=passthrough)
        except ValueError as exc:
            log.error("model %s is not routable: %s", name, exc)
    return routes
