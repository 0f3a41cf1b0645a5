"""An OpenAI-compatible embeddings endpoint on the local MiniLM model.

    POST /v1/embeddings   {"model", "input": str | [str], "encoding_format": "float" | "base64", "dimensions"?: 384}
    GET  /v1/models       the one model it serves
    GET  /health
    POST /embed           TEI's native route: {"inputs": str | [str]} → [[float, ...], ...]
    GET  /info            TEI's model info (model_id, max_input_length, …)

Also answered without the `/v1` prefix (TEI and some clients call `/embeddings`). Like TEI, it serves one model
whatever `model` names (a gateway registration may call it anything). Errors are OpenAI's error object. Inference runs on one worker thread: the model already uses every core, so running two batches at once
would only make both slower.

Run: python -m services.embeddings [--host 127.0.0.1] [--port 8083]
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.embeddings.model import DIMENSION, MAX_TOKENS, MiniLM
from services.embeddings.settings import EmbeddingServerSettings


class RequestError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 etype: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.etype = status, message, param, code, etype


def _json(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(exc: RequestError) -> Response:
    return _json(exc.status, {"error": {"message": exc.message, "type": exc.etype, "param": exc.param, "code": exc.code}})


def parse_request(body: Any, settings: EmbeddingServerSettings) -> tuple[list[str], str]:
    """The inputs and encoding format of an embeddings request, or a RequestError saying what is wrong."""
    if not isinstance(body, dict):
        raise RequestError(400, "the body must be a JSON object")
    raw = body.get("input")
    if isinstance(raw, str):
        inputs = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(t, str) for t in raw):
        inputs = raw
    elif isinstance(raw, list) and raw and all(isinstance(t, (int, list)) for t in raw):
        raise RequestError(400, "token-id inputs are not supported: send text", param="input")
    else:
        raise RequestError(400, "`input` must be a string or a non-empty array of strings", param="input")
    if len(inputs) > settings.max_inputs:
        raise RequestError(400, f"at most {settings.max_inputs} inputs per request, got {len(inputs)}", param="input")
    too_long = next((i for i, t in enumerate(inputs) if len(t) > settings.max_input_chars), None)
    if too_long is not None:
        raise RequestError(400, f"input[{too_long}] is longer than {settings.max_input_chars} characters", param="input")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise RequestError(400, "`encoding_format` must be 'float' or 'base64'", param="encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions != DIMENSION:
        raise RequestError(400, f"this model only produces {DIMENSION}-dimensional vectors", param="dimensions")
    return inputs, encoding


def embedding_response(vectors, tokens: int, encoding: str, model: str) -> dict[str, Any]:
    if encoding == "base64":
        # OpenAI's base64 form: the float32 little-endian bytes of each vector (openai-python asks for it by default).
        data = [{"object": "embedding", "index": i, "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode()}
                for i, v in enumerate(vectors)]
    else:
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def create_app(settings: EmbeddingServerSettings | None = None, model: MiniLM | None = None) -> Starlette:
    settings = settings or EmbeddingServerSettings()
    model = model or MiniLM(threads=settings.threads, batch_size=settings.batch_size, spin=settings.spin)
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minilm")

    def authorised(request: Request) -> bool:
        if settings.api_key is None:
            return True
        header = request.headers.get("authorization", "")
        given = header[7:] if header[:7].lower() == "bearer " else request.headers.get("api-key", "")
        return hmac.compare_digest(given.encode(), settings.api_key.get_secret_value().encode())

    async def embeddings(request: Request) -> Response:
        if not authorised(request):
            return _error(RequestError(401, "invalid or missing API key", etype="authentication_error",
                                       code="invalid_api_key"))
        try:
            try:
                body = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                raise RequestError(400, "the body is not valid JSON") from None
            inputs, encoding = parse_request(body, settings)
        except RequestError as exc:
            return _error(exc)
        result = await asyncio.get_running_loop().run_in_executor(worker, model.embed, inputs)
        return _json(200, embedding_response(result.vectors, result.tokens, encoding, settings.model_name))

    async def tei_embed(request: Request) -> Response:
        if not authorised(request):
            return _json(401, {"error": "invalid or missing API key", "error_type": "Unauthorized"})
        try:
            body = orjson.loads(await request.body())
            inputs, _ = parse_request({"input": body.get("inputs")} if isinstance(body, dict) else body, settings)
        except (orjson.JSONDecodeError, RequestError) as exc:
            message = exc.message if isinstance(exc, RequestError) else "the body is not valid JSON"
            return _json(422, {"error": message.replace("`input`", "`inputs`"), "error_type": "Validation"})
        result = await asyncio.get_running_loop().run_in_executor(worker, model.embed, inputs)
        return Response(orjson.dumps(result.vectors, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")

    async def info(request: Request) -> Response:
        return _json(200, {"model_id": settings.model_name, "model_dtype": "int8", "model_type": {"embedding": {
            "pooling": "mean"}}, "max_input_length": MAX_TOKENS, "max_client_batch_size": settings.max_inputs,
            "version": "lisa-local"})

    async def models(request: Request) -> Response:
        if not authorised(request):
            return _error(RequestError(401, "invalid or missing API key", etype="authentication_error",
                                       code="invalid_api_key"))
        return _json(200, {"object": "list", "data": [
            {"id": settings.model_name, "object": "model", "created": int(started), "owned_by": "lisa-local"}]})

    async def health(request: Request) -> Response:
        return _json(200, {"status": "ok", "model": settings.model_name, "dimension": DIMENSION})

    started = time.time()
    routes = [Route("/health", health, methods=["GET"]), Route("/embed", tei_embed, methods=["POST"]),
              Route("/info", info, methods=["GET"])]
    for prefix in ("/v1", ""):
        routes += [Route(f"{prefix}/embeddings", embeddings, methods=["POST"]),
                   Route(f"{prefix}/models", models, methods=["GET"])]
    app = Starlette(routes=routes)
    app.state.worker = worker
    return app
