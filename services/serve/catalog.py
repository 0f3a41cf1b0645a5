"""The models serve routes right now: the registry's registrations plus the stage's static models.

A background task polls the registry's version (one small consistent read) every `poll_s`; only when it moves are
the registrations scanned, their API keys read from Secrets Manager and the routes rebuilt. The new table replaces
the old in one assignment, so a request in flight keeps the route it started with and none is dropped. Each model's
backend (pass-through or LiteLLM, services/serve/inference.py) is chosen here, once per rebuild.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import Awaitable, Callable, NamedTuple

import orjson

from core.access import may_use
from core.config import LiteLLMModelEntry, LiteLLMSettings
from core.periodic import Periodic
from core.registry import ModelRegistry, Registration
from core.secrets import SecretReader, SecretUnavailable
from services.serve.inference import Backend, LiteLLMBackend, PassthroughBackend
from services.serve.routing import Route, build_routes
from services.serve.upstream import Upstreams

log = logging.getLogger("lisa.serve.catalog")


class ServedModel(NamedTuple):
    route: Route
    backend: Backend


class ModelCatalog:
    def __init__(self, registry: ModelRegistry, static_models: list[LiteLLMModelEntry], upstreams: Upstreams, *,
                 passthrough: bool = True, poll_s: float = 0.5, timeout_s: float = 600.0, meter_streams: bool = True,
                 read_version: Callable[[], Awaitable[int]] | None = None,
                 litellm_settings: LiteLLMSettings | None = None,
                 on_routed: Callable[[], Awaitable[None]] | None = None) -> None:
        self.registry = registry
        self.on_routed = on_routed  # told after each rebuild (the heartbeat that tells the api what serve routes)
        self.litellm_settings = litellm_settings or LiteLLMSettings()
        # The poll's one read; by default boto3 in a thread, serve passes an on-loop reader (services/serve/dynamo.py).
        self.read_version = read_version or (lambda: asyncio.to_thread(registry.version))
        self.static_models = static_models
        self.passthrough = passthrough
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.secrets = SecretReader()
        self.upstreams = upstreams
        self.meter_streams = meter_streams
        self.version: int | None = None
        self.models: dict[str, ServedModel] = {}
        self.litellm = None  # LiteLLMModels, when any route needs LiteLLM
        self.models_body = b'{"object":"list","data":[]}'
        self._bodies: dict[frozenset[str], bytes] = {}
        self._restricted = False
        self._poller = Periodic(self.refresh, poll_s, name="registry poll")

    async def refresh(self) -> bool:
        """One poll; True when the routes were rebuilt."""
        version = await self.read_version()
        if version == self.version:
            return False
        registrations = await asyncio.to_thread(self.registry.registrations)
        api_keys = await asyncio.to_thread(read_api_keys, self.secrets, registrations)
        routes = build_routes(registrations, self.static_models, api_keys, passthrough=self.passthrough)
        self.litellm = await self._litellm_for([r for r in routes.values() if r.passthrough is None])
        self._serve(routes)
        self.version = version
        log.info("routing %d models (registry version %d)", len(routes), version)
        if self.on_routed is not None:
            try:
                await self.on_routed()
            except Exception as exc:  # noqa: BLE001 (the routes are live; the next heartbeat tells the api)
                log.warning("could not report registry version %d: %s", version, type(exc).__name__)
        return True

    def _serve(self, routes: dict[str, Route]) -> None:
        self.models = {name: ServedModel(route, self._backend(route)) for name, route in routes.items()}
        self.models_body = models_list_body(routes)
        self._bodies: dict[frozenset[str], bytes] = {}
        self._restricted = any(route.allowed_groups for route in routes.values())

    def usable(self, model: str, groups: tuple[str, ...], is_admin: bool) -> ServedModel | None:
        """The model if this caller may use it; None as for a model that does not exist (nothing is revealed)."""
        served = self.models.get(model)
        if served is None or not may_use(groups, served.route.allowed_groups, is_admin=is_admin):
            return None
        return served

    def models_body_for(self, groups: tuple[str, ...], is_admin: bool) -> bytes:
        """`/models` as this caller sees it: only what its groups allow (cached per set of groups)."""
        if is_admin or not self._restricted:
            return self.models_body
        key = frozenset(groups)
        body = self._bodies.get(key)
        if body is None:
            if len(self._bodies) > 1024:
                self._bodies.clear()
            body = self._bodies[key] = models_list_body(
                {name: m.route for name, m in self.models.items() if may_use(key, m.route.allowed_groups)})
        return body

    def _backend(self, route: Route) -> Backend:
        if route.passthrough is not None:
            return PassthroughBackend(route.passthrough, self.upstreams, timeout_s=self.timeout_s,
                                      meter_streams=self.meter_streams)
        return LiteLLMBackend(self.litellm, route.name)

    async def _litellm_for(self, routes: list[Route]):
        if not routes:
            return None
        # The first import takes seconds: off the loop, so requests keep flowing while a Bedrock model arrives.
        await asyncio.to_thread(importlib.import_module, "litellm")
        from services.serve.litellm_path import LiteLLMModels, router_signature

        if self.litellm is not None and self.litellm.signature == router_signature(routes):
            return self.litellm
        return LiteLLMModels(routes, timeout_s=self.timeout_s, settings=self.litellm_settings)

    async def start(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # noqa: BLE001 (serve the static models; the poll keeps trying)
            log.error("could not read the model registry: %s", type(exc).__name__)
            if self.version is None and not self.models:
                self._serve(build_routes([], self.static_models, {}, passthrough=self.passthrough))
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()


def read_api_keys(secrets: SecretReader, registrations: list[Registration]) -> dict[str, str]:
    """The upstream API keys the registrations name. Read afresh: a registry change may come with a new key (the
    engine writes the secret before it bumps the version); one that cannot be read keeps its last value."""
    keys: dict[str, str] = {}
    for secret_id in {r.api_key_secret_id for r in registrations if r.api_key_secret_id}:
        try:
            keys[secret_id] = secrets.get(secret_id, max_age_s=0)
        except SecretUnavailable as exc:  # that model's upstream will refuse us; the others are fine
            log.error("%s", exc)
    return keys


def models_list_body(routes: dict[str, Route]) -> bytes:
    # `lisa` carries LISA's metadata so a UI can offer text models for chat and leave out static-only ones.
    data = [
        {"id": r.name, "object": "model", "created": r.created, "owned_by": "lisa",
         "lisa": {"modelType": r.model_type.value, "streaming": r.streaming, "static": r.static}}
        for r in routes.values()
    ]
    data.sort(key=lambda m: m["id"])
    return orjson.dumps({"object": "list", "data": data})
