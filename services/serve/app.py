"""The OpenAI-compatible gateway: a plain ASGI app (the hot path pays no framework it does not need).

Routes, under `/v2/serve`, `/v1` and the root alike: `GET /models`, `GET /models/{id}`, `POST /chat/completions`,
`POST /completions`, `POST /embeddings`; `GET /health` needs no credential, `GET /metrics` (Prometheus) an admin's
unless public by setting. Every error is OpenAI's error object. Around each inference call the policies of
services/serve/policy.py apply: credentials (refusals audited), model groups, rate limits, usage metering.
Run: `python -m services.serve` (uvicorn), or any ASGI server with `services.serve.app:create_app` as a factory.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any, Awaitable, Callable

import orjson

from core.errors import AuthenticationError, PermissionDeniedError
from core.openai_requests import ENDPOINTS
from core.platform import PlatformOutputs, load_platform
from core.registry import VERSION_KEY, ModelRegistry, version_of
from services.identity.authenticator import Authenticator
from services.identity.tokens import TokenInfo, info_from_item, token_key
from services.serve.catalog import ModelCatalog
from services.serve.dynamo import AsyncDynamo
from services.serve.heartbeat import Heartbeat
from services.serve.inference import Answer
from services.serve.openai_errors import OpenAIError, as_openai_error, bad_request, error_body, model_not_found
from services.serve.payloads import parse_request
from services.serve.metrics import CONTENT_TYPE, ServeMetrics
from services.serve.policy import GatewayPolicy
from services.serve.relay import relay
from services.serve.settings import ServeSettings
from services.serve.upstream import Upstreams

log = logging.getLogger("lisa.serve")

PREFIXES = ("/v2/serve", "/v1", "")
CLIENT_CLOSED = 499  # metered status of a call whose client left before the answer was complete
_JSON = (b"content-type", b"application/json")

Handler = Callable[[dict, Callable, Callable], Awaitable[None]]


async def _send_json(send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [_JSON, (b"content-length", b"%d" % len(body))]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_error(send, error: OpenAIError) -> None:
    await _send_json(send, error.status, error_body(error.message, error.type, error.code, error.param), error.headers)


class ClientGone(Exception):
    """The client disconnected before its request was read: nobody to answer."""


async def _read_body(receive, limit: int) -> bytes:
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body = message.get("body", b"")
    if len(body) > limit:
        raise OpenAIError(413, f"the request body is larger than {limit >> 20} MiB", "invalid_request_error",
                          "request_too_large")
    if not message.get("more_body"):
        return body  # the usual case: one message, no copy
    parts, size = [body], len(body)
    while message.get("more_body"):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            raise OpenAIError(413, f"the request body is larger than {limit >> 20} MiB", "invalid_request_error",
                              "request_too_large")
        parts.append(part)
    return b"".join(parts)


def _credentials(scope: dict) -> tuple[str | None, str | None]:
    authorization = api_key = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"api-key":
            api_key = value.decode("latin-1")
    return authorization, api_key


class Gateway:
    """The ASGI callable. `state` mirrors Starlette's for code that expects `app.state.authenticator`."""

    def __init__(self, settings: ServeSettings, platform: PlatformOutputs) -> None:
        self.settings = settings
        self.platform = platform
        self.upstreams = Upstreams(connect_timeout_s=settings.connect_timeout_s)
        self.dynamo = AsyncDynamo(self.upstreams)
        self.authenticator = Authenticator.from_platform(platform, jwks_min_refresh_s=settings.jwks_min_refresh_s,
                                                         lookup_token=self._lookup_token)
        self.catalog = ModelCatalog(ModelRegistry(platform.tables.models), platform.static_models, self.upstreams,
                                    passthrough=settings.passthrough, poll_s=settings.registry_poll_s,
                                    timeout_s=settings.upstream_timeout_s, read_version=self._registry_version,
                                    litellm_settings=platform.litellm_settings)
        self.heartbeat = Heartbeat(self.dynamo, platform.tables.models, lambda: self.catalog.version,
                                   interval_s=settings.heartbeat_s)
        self.catalog.on_routed = self.heartbeat.beat
        self.max_body = settings.max_body_mib << 20
        self.cors = frozenset(settings.cors_origins)
        self.metrics = ServeMetrics()
        self.policy = GatewayPolicy(platform, self.authenticator, self.dynamo, self.metrics,
                                    usage_flush_s=settings.usage_flush_s,
                                    rate_limit_slice_ttl_s=settings.rate_limit_slice_ttl_s)
        self.metrics_public = settings.metrics_public
        # The route table: (method, path under each prefix) → handler. `GET /models/{id}` is matched apart.
        table: list[tuple[bytes, str, Handler]] = [
            (b"GET", "health", self._health), (b"GET", "metrics", self._metrics), (b"GET", "models", self._models),
            *((b"POST", endpoint, self._inference_handler(endpoint)) for endpoint in ENDPOINTS),
        ]
        self.routes: dict[str, tuple[bytes, Handler, str]] = {
            f"{prefix}/{path}": (method, handler, path) for prefix in PREFIXES for method, path, handler in table}

    # ASGI --------------------------------------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            if self.cors:
                send = self._with_cors(scope, send)
                if scope["method"] == "OPTIONS":
                    return await self._preflight(scope, send)
            await self._dispatch(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _dispatch(self, scope: dict, receive, send) -> None:
        path = scope["path"]
        entry = self.routes.get(path)
        if entry is None:
            model_id = _model_id_from_path(path)
            if model_id is None:
                return await _send_error(send, OpenAIError(404, f"no route {path}", "invalid_request_error", "not_found"))
            entry = (b"GET", lambda s, r, se: self._model(s, r, se, model_id), "models/{id}")
        method, handler, label = entry
        if scope["method"].encode() != method:
            return await _send_error(send, OpenAIError(405, f"{scope['method']} is not allowed on {path}",
                                                       "invalid_request_error", "method_not_allowed"))
        try:
            await handler(scope, receive, send)
            self.metrics.requests[(label, 200)] += 1
        except ClientGone:
            return
        except Exception as exc:  # noqa: BLE001 (the one error path: everything becomes OpenAI's error object)
            error = as_openai_error(exc)
            if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
                self.policy.refused(scope, exc)
            self.metrics.requests[(label, error.status)] += 1
            if error.status >= 500 and not isinstance(exc, OpenAIError):
                log.error("%s on %s: %s", type(exc).__name__, path, getattr(exc, "message", "") or type(exc).__name__)
                log.debug("details", exc_info=True)
            try:
                await _send_error(send, error)
            except RuntimeError:  # the response had already started: the client sees the connection end
                log.warning("%s after the response started on %s", type(exc).__name__, path)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001
                    await send({"type": "lifespan.startup.failed", "message": type(exc).__name__})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        await self.authenticator.start()
        await self.catalog.start()
        self.heartbeat.start()
        self.policy.start()
        # Everything loaded so far lives as long as the process: keep it out of the collector's full passes,
        # which otherwise stall the loop for milliseconds (a p99 killer).
        gc.collect()
        gc.freeze()

    async def _registry_version(self) -> int:
        item = await self.dynamo.get_item(self.platform.tables.models, {"modelId": VERSION_KEY}, projection=["version"])
        return version_of(item)

    async def _lookup_token(self, token: str) -> TokenInfo | None:
        item = await self.dynamo.get_item(self.platform.tables.tokens, token_key(token))
        return info_from_item(item) if item else None

    async def shutdown(self) -> None:
        await self.catalog.stop()
        await self.heartbeat.stop()
        await self.policy.close()  # the last usage rows and audit events
        self.upstreams.close()

    # routes ------------------------------------------------------------------------------------------------------
    async def _health(self, scope, receive, send) -> None:
        body = orjson.dumps({"status": "ok", "models": len(self.catalog.models), "registryVersion": self.catalog.version})
        await _send_json(send, 200, body)

    async def _metrics(self, scope, receive, send) -> None:
        if not self.metrics_public:
            principal = await self.authenticator.authenticate_values(*_credentials(scope))
            if not principal.is_admin:
                raise OpenAIError(403, "the metrics are for admins", "permission_error", "permission_denied")
        self.metrics.registry_version = self.catalog.version or 0
        body = self.metrics.exposition()
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", CONTENT_TYPE), (b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    async def _models(self, scope, receive, send) -> None:
        principal = await self.authenticator.authenticate_values(*_credentials(scope))
        await _send_json(send, 200, self.catalog.models_body_for(principal.groups, principal.is_admin))

    async def _model(self, scope, receive, send, model_id: str) -> None:
        principal = await self.authenticator.authenticate_values(*_credentials(scope))
        served = self.catalog.usable(model_id, principal.groups, principal.is_admin)
        if served is None:
            raise model_not_found(model_id)
        route = served.route
        await _send_json(send, 200, orjson.dumps({"id": route.name, "object": "model", "created": route.created,
                                                  "owned_by": "lisa"}))

    def _inference_handler(self, endpoint: str) -> Handler:
        async def handle(scope, receive, send) -> None:
            principal = await self.authenticator.authenticate_values(*_credentials(scope))
            payload = parse_request(endpoint, await _read_body(receive, self.max_body))
            served = self.catalog.usable(payload["model"], principal.groups, principal.is_admin)
            if served is None:
                raise model_not_found(payload["model"])
            route = served.route
            if not route.answers(endpoint):
                raise bad_request(f"the model `{route.name}` is a {route.model_type.value} model; it does not answer "
                                  f"/{endpoint}", "model", "model_not_supported")
            waiting = self.policy.admit(principal, route)
            if waiting is not None:
                await waiting
            started, status, usage, first_chunk_at = time.perf_counter(), 200, None, None
            try:
                if payload.get("stream"):
                    answer = await served.backend.stream(endpoint, payload)
                    if not isinstance(answer, Answer):
                        self.metrics.active_streams += 1
                        try:
                            outcome = await relay(answer, receive, send)
                        finally:
                            self.metrics.active_streams -= 1
                        usage, first_chunk_at = answer.usage, outcome.first_chunk_at
                        status = 200 if outcome.completed else CLIENT_CLOSED if outcome.client_left else 502
                        return
                else:
                    answer = await served.backend.complete(endpoint, payload)
                usage = answer.usage
                await _send_json(send, 200, answer.body)
            except Exception as exc:
                status = as_openai_error(exc).status
                raise
            except BaseException:
                status = CLIENT_CLOSED
                raise
            finally:
                self.policy.meter_call(principal, route.name, endpoint, status, usage, started, first_chunk_at)

        return handle

    # CORS --------------------------------------------------------------------------------------------------------
    def _allowed_origin(self, scope: dict) -> bytes | None:
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value.decode("latin-1").rstrip("/")
                if origin in self.cors or "*" in self.cors:
                    return value
                return None
        return None

    def _with_cors(self, scope: dict, send):
        origin = self._allowed_origin(scope)
        if origin is None:
            return send

        async def send_with_cors(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"access-control-allow-origin", origin),
                                                  (b"vary", b"Origin")]}
            await send(message)

        return send_with_cors

    async def _preflight(self, scope: dict, send) -> None:
        headers = [(b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                   (b"access-control-allow-headers", b"authorization, api-key, content-type"),
                   (b"access-control-max-age", b"600"), (b"content-length", b"0")]
        status = 204 if self._allowed_origin(scope) is not None else 403
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _model_id_from_path(path: str) -> str | None:
    for prefix in PREFIXES:
        head = f"{prefix}/models/"
        if path.startswith(head) and len(path) > len(head):
            return path[len(head):]
    return None


def create_app(settings: ServeSettings | None = None, platform: PlatformOutputs | None = None) -> Gateway:
    settings = settings or ServeSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return Gateway(settings, platform or load_platform())
