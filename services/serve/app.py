"""The OpenAI-compatible gateway: a plain ASGI app (the hot path pays no framework it does not need).

Routes, under `/v2/serve`, `/v1` and the root alike: `GET /models`, `GET /models/{id}`, `POST /chat/completions`,
`POST /completions`, `POST /embeddings`; `GET /health` needs no credential. Every error is OpenAI's error object.
Run: `python -m services.serve` (uvicorn), or any ASGI server with `services.serve.app:create_app` as a factory.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any, Awaitable, Callable

import orjson

from core.platform import PlatformOutputs, load_platform
from core.registry import VERSION_KEY, ModelRegistry, version_of
from services.serve.auth import Authenticator
from services.serve.catalog import ModelCatalog
from services.serve.dynamo import AsyncDynamo
from services.serve.openai_errors import OpenAIError, as_openai_error, bad_request, error_body, model_not_found
from services.serve.payloads import parse_request
from services.serve.routing import Route
from services.serve.settings import ServeSettings
from services.serve.streaming import DONE, sse, sse_error
from services.serve.upstream import UpstreamResponse, Upstreams

log = logging.getLogger("lisa.serve")

PREFIXES = ("/v2/serve", "/v1", "")
_JSON = (b"content-type", b"application/json")
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
_PASSED_HEADERS = (b"retry-after", b"x-request-id")

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


async def _until_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


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
                                                         dynamo=self.dynamo)
        self.catalog = ModelCatalog(ModelRegistry(platform.tables.models), platform.static_models,
                                    passthrough=settings.passthrough, poll_s=settings.registry_poll_s,
                                    timeout_s=settings.upstream_timeout_s, read_version=self._registry_version)
        self.timeout_s = settings.upstream_timeout_s
        self.max_body = settings.max_body_mib << 20
        self.cors = frozenset(settings.cors_origins)
        self.routes: dict[str, tuple[bytes, Handler]] = {}
        for prefix in PREFIXES:
            self.routes[f"{prefix}/health"] = (b"GET", self._health)
            self.routes[f"{prefix}/models"] = (b"GET", self._models)
            for endpoint in ("chat/completions", "completions", "embeddings"):
                self.routes[f"{prefix}/{endpoint}"] = (b"POST", self._inference_handler(endpoint))

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
            entry = (b"GET", lambda s, r, se: self._model(s, r, se, model_id))
        method, handler = entry
        if scope["method"].encode() != method:
            return await _send_error(send, OpenAIError(405, f"{scope['method']} is not allowed on {path}",
                                                       "invalid_request_error", "method_not_allowed"))
        try:
            await handler(scope, receive, send)
        except ClientGone:
            return
        except Exception as exc:  # noqa: BLE001 (the one error path: everything becomes OpenAI's error object)
            error = as_openai_error(exc)
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
        # Everything loaded so far lives as long as the process: keep it out of the collector's full passes,
        # which otherwise stall the loop for milliseconds (a p99 killer).
        gc.collect()
        gc.freeze()

    async def _registry_version(self) -> int:
        item = await self.dynamo.get_item(self.platform.tables.models, {"modelId": VERSION_KEY}, projection=["version"])
        return version_of(item)

    async def shutdown(self) -> None:
        await self.catalog.stop()
        self.upstreams.close()

    # routes ------------------------------------------------------------------------------------------------------
    async def _health(self, scope, receive, send) -> None:
        body = orjson.dumps({"status": "ok", "models": len(self.catalog.routes), "registryVersion": self.catalog.version})
        await _send_json(send, 200, body)

    async def _models(self, scope, receive, send) -> None:
        await self.authenticator.authenticate_values(*_credentials(scope))
        await _send_json(send, 200, self.catalog.models_body)

    async def _model(self, scope, receive, send, model_id: str) -> None:
        await self.authenticator.authenticate_values(*_credentials(scope))
        route = self.catalog.routes.get(model_id)
        if route is None:
            raise model_not_found(model_id)
        await _send_json(send, 200, orjson.dumps({"id": route.name, "object": "model", "created": route.created,
                                                  "owned_by": "lisa"}))

    def _inference_handler(self, endpoint: str) -> Handler:
        async def handle(scope, receive, send) -> None:
            await self.authenticator.authenticate_values(*_credentials(scope))
            payload = parse_request(endpoint, await _read_body(receive, self.max_body))
            route = self.catalog.routes.get(payload["model"])
            if route is None:
                raise model_not_found(payload["model"])
            if not route.answers(endpoint):
                raise bad_request(f"the model `{route.name}` is a {route.model_type.value} model; it does not answer "
                                  f"/{endpoint}", "model", "model_not_supported")
            if route.passthrough is not None:
                await self._pass_through(route, endpoint, payload, receive, send)
            else:
                await self._through_litellm(route, endpoint, payload, receive, send)

        return handle

    # pass-through ------------------------------------------------------------------------------------------------
    async def _pass_through(self, route: Route, endpoint: str, payload: dict, receive, send) -> None:
        direct = route.passthrough
        payload["model"] = direct.upstream_model
        body = orjson.dumps(payload)
        pool = self.upstreams.pool(direct.origin)
        response = await pool.request(direct.heads[endpoint] % len(body), body, self.timeout_s)
        try:
            if (payload.get("stream") and response.status == 200
                    and (response.header(b"content-type") or b"").startswith(b"text/event-stream")):
                await self._relay_stream(response, receive, send)
            else:
                await self._relay_whole(response, send)
        finally:
            response.close()

    async def _relay_whole(self, response: UpstreamResponse, send) -> None:
        body = await response.read()
        status = response.status
        if status == 200:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, dict):
                raise OpenAIError(502, "the upstream answered with a body that is not a JSON object", "server_error",
                                  "upstream_invalid_response")
            return await _send_json(send, 200, body)
        await _send_error(send, _upstream_failure(response, body))

    async def _relay_stream(self, response: UpstreamResponse, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        watcher = asyncio.ensure_future(_until_disconnect(receive))
        watcher.add_done_callback(lambda _: response.close())  # the client left: drop the upstream connection
        tail = b""
        try:
            async for chunk in response.iter_chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except Exception as exc:  # noqa: BLE001 (headers are out: the error can only be an event)
            if not watcher.done():
                log.warning("upstream stream broke: %s", type(exc).__name__)
                tail = sse_error("the upstream stream ended before it was complete")
        finally:
            watcher.cancel()
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    # LiteLLM -----------------------------------------------------------------------------------------------------
    async def _through_litellm(self, route: Route, endpoint: str, payload: dict, receive, send) -> None:
        models = self.catalog.litellm
        if models is None:  # a reload between lookup and here
            raise model_not_found(route.name)
        if endpoint == "chat/completions" and payload.get("stream"):
            return await self._litellm_stream(models, payload, receive, send)
        if payload.get("stream"):
            raise bad_request("streaming completions are only available for OpenAI-compatible upstreams", "stream")
        result = await models.call(endpoint, payload)
        await _send_json(send, 200, orjson.dumps(result))

    async def _litellm_stream(self, models, payload: dict, receive, send) -> None:
        chunks = models.stream_chat(payload)
        try:
            first = await chunks.__anext__()
        except StopAsyncIteration:
            first = None
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})

        async def pump() -> None:
            if first is not None:
                await send({"type": "http.response.body", "body": sse(first), "more_body": True})
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": sse(chunk), "more_body": True})

        pumping = asyncio.ensure_future(pump())
        watcher = asyncio.ensure_future(_until_disconnect(receive))
        await asyncio.wait({pumping, watcher}, return_when=asyncio.FIRST_COMPLETED)
        tail = DONE
        if not pumping.done():  # the client left: stop LiteLLM's upstream call
            pumping.cancel()
            tail = b""
        watcher.cancel()
        try:
            await pumping
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # noqa: BLE001
            error = as_openai_error(exc)
            tail = sse_error(error.message, error.type, error.code)
        await send({"type": "http.response.body", "body": tail, "more_body": False})

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


def _upstream_failure(response: UpstreamResponse, body: bytes) -> OpenAIError:
    """An upstream's non-200 answer, phrased for the client: 429/5xx and client errors keep their status (and
    retry-after); the upstream refusing serve's own credentials is a 502, not the caller's 401."""
    status = response.status
    headers = [(name, value) for name, value in response.headers if name in _PASSED_HEADERS]
    if status in (401, 403, 407):
        return OpenAIError(502, "the upstream refused the gateway's credentials", "server_error", "upstream_auth")
    message, type_, code = f"the upstream answered {status}", "server_error" if status >= 500 else "invalid_request_error", None
    try:
        error = orjson.loads(body).get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or message)[:2000]
            type_ = str(error.get("type") or type_)
            code = error.get("code") if isinstance(error.get("code"), str) else None
        elif isinstance(error, str):
            message = error[:2000]
    except (orjson.JSONDecodeError, AttributeError):
        pass
    if status == 429:
        type_ = "rate_limit_error"
    if status < 400 or status > 599:
        return OpenAIError(502, f"the upstream answered an unexpected status {status}", "server_error", "upstream_error")
    return OpenAIError(status, message, type_, code, headers=headers)


def create_app(settings: ServeSettings | None = None, platform: PlatformOutputs | None = None) -> Gateway:
    settings = settings or ServeSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return Gateway(settings, platform or load_platform())
