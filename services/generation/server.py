"""An OpenAI-compatible chat endpoint on the local SmolLM2 model.

    POST /v1/chat/completions   streamed (server-sent events) or whole; usage; stop, max_tokens, temperature, top_p,
                                seed, presence/frequency penalty; one choice
    GET  /v1/models             the one model it serves
    GET  /health

Also answered without the `/v1` prefix. Like the embedding server it serves one model whatever `model` names (a
gateway registration may call it anything). Errors are OpenAI's error object; a streamed answer that fails before its
first token gets a proper HTTP error, one that fails later an error event. Answers are generated on worker threads
(the event loop only relays text), at most `parallel` at once and `queue` waiting (then 429); a client that
disconnects stops its answer at the next token.

Run: python -m services.generation [--host 127.0.0.1] [--port 8084]
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.generation.answers import Admission, Answer
from services.generation.chat_request import ChatRequest, RequestError, parse_chat_request
from services.generation.chat_response import ChunkStream, completion, error_event
from services.generation.chat_template import render
from services.generation.model import MODEL_ID, Outcome, SmolLM2
from services.generation.settings import GenerationServerSettings

log = logging.getLogger("lisa.generation")

_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


class _ClientGone(Exception):
    pass


def _json_body(body: Any) -> bytes:
    return orjson.dumps(body)


def _error_body(exc: RequestError) -> bytes:
    return _json_body({"error": {"message": exc.message, "type": exc.etype, "param": exc.param, "code": exc.code}})


async def _send_json(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive, limit: int) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        body += message.get("body", b"")
        if len(body) > limit:
            raise RequestError(413, f"the request body is larger than {limit >> 10} KiB", code="request_too_large")
        if not message.get("more_body"):
            return body


async def _until_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class ChatCompletions:
    """The raw ASGI endpoint of /chat/completions: it owns `receive`, to notice a client leaving at any point."""

    def __init__(self, settings: GenerationServerSettings, model: SmolLM2) -> None:
        self.settings = settings
        self.model = model
        self.workers = ThreadPoolExecutor(max_workers=settings.parallel, thread_name_prefix="smollm2")
        self.admission: Admission | None = None  # made on the serving loop
        self.closing = threading.Event()  # set at shutdown: every answer stops at its next token
        self.endings: Counter[str] = Counter()  # answers by how they ended

    def authorised(self, scope: dict) -> bool:
        if self.settings.api_key is None:
            return True
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        given = authorization[7:] if authorization[:7].lower() == "bearer " else \
            headers.get(b"api-key", b"").decode("latin-1")
        return hmac.compare_digest(given.encode(), self.settings.api_key.get_secret_value().encode())

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["method"] != "POST":
            return await _send_json(send, 405, _error_body(RequestError(405, "use POST")), [(b"allow", b"POST")])
        if not self.authorised(scope):
            return await _send_json(send, 401, _error_body(RequestError(
                401, "invalid or missing API key", etype="authentication_error", code="invalid_api_key")))
        try:
            raw = await _read_body(receive, self.settings.max_body_kib << 10)
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise RequestError(400, "the body is not valid JSON") from None
            request = parse_chat_request(body, max_output_tokens=self.settings.max_output_tokens)
        except _ClientGone:
            return
        except RequestError as exc:
            return await _send_json(send, exc.status, _error_body(exc))
        await self._answer(request, receive, send)

    async def _answer(self, request: ChatRequest, receive, send) -> None:
        self.admission = self.admission or Admission(self.settings.parallel, self.settings.queue)
        admission = self.admission
        if not admission.try_enter():
            return await _send_json(send, 429, _error_body(RequestError(
                429, f"the local model is busy ({self.settings.parallel} answers running, {self.settings.queue} "
                "waiting): try again shortly", etype="rate_limit_error", code="rate_limit_exceeded")),
                [(b"retry-after", b"2")])
        watcher = asyncio.ensure_future(_until_disconnect(receive))
        waiting = asyncio.ensure_future(admission.wait_for_slot())
        await asyncio.wait({waiting, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if watcher.done():  # left while waiting for a slot
            waiting.cancel()
            had_slot = waiting.done() and not waiting.cancelled()
            return admission.leave(had_slot=had_slot)
        answer = Answer(self.model.generate, self.workers, render(request.messages), request, self.closing)
        answer.done.add_done_callback(lambda _: admission.leave(had_slot=True))
        answer.done.add_done_callback(lambda _: self.endings.update([answer.ending()]))
        watcher.add_done_callback(lambda _: answer.cancel())
        try:
            if request.stream:
                await self._stream(answer, request, send)
            else:
                await self._whole(answer, send)
        finally:
            watcher.cancel()
            if not answer.done.done():  # the send failed: nobody is reading
                answer.cancel()

    async def _whole(self, answer: Answer, send) -> None:
        pieces = []
        while (piece := await answer.next()) is not None:
            pieces.append(piece)
        if answer.client_gone:
            return
        outcome = _outcome(answer)
        if isinstance(outcome, RequestError):
            return await _send_json(send, outcome.status, _error_body(outcome))
        await _send_json(send, 200, _json_body(completion(self.settings.model_name, "".join(pieces), outcome)))

    async def _stream(self, answer: Answer, request: ChatRequest, send) -> None:
        piece = await answer.next()  # held back until the first token, so an early failure is a plain HTTP error
        if answer.client_gone:
            return
        if piece is None and isinstance(failed := _outcome(answer), RequestError):
            return await _send_json(send, failed.status, _error_body(failed))
        events = ChunkStream(self.settings.model_name, request.include_usage)
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        await send({"type": "http.response.body", "body": events.opening(), "more_body": True})
        while piece is not None:
            await send({"type": "http.response.body", "body": events.text(piece), "more_body": True})
            piece = await answer.next()
        if answer.client_gone:
            return
        outcome = _outcome(answer)
        tail = error_event(outcome.message, outcome.etype, outcome.code) if isinstance(outcome, RequestError) \
            else events.closing(outcome)
        await send({"type": "http.response.body", "body": tail, "more_body": False})


def _outcome(answer: Answer) -> Outcome | RequestError:
    """How a finished answer ended, or what to tell the client about its failure."""
    try:
        return answer.outcome()
    except RequestError as exc:
        return exc
    except Exception:  # noqa: BLE001
        log.exception("generation failed")
        return RequestError(500, "the local model failed while answering", etype="server_error", code="model_error")


def create_app(settings: GenerationServerSettings | None = None, model: SmolLM2 | None = None) -> Starlette:
    settings = settings or GenerationServerSettings()
    model = model or SmolLM2(threads=settings.threads, parallel=settings.parallel,
                             context_tokens=settings.context_tokens, max_output_tokens=settings.max_output_tokens,
                             prompt_cache_mib=settings.prompt_cache_mib, spin=settings.spin)
    chat = ChatCompletions(settings, model)
    started = time.time()

    async def models(request: Request) -> Response:
        if not chat.authorised(request.scope):
            return Response(_error_body(RequestError(401, "invalid or missing API key", etype="authentication_error",
                                                     code="invalid_api_key")), 401, media_type="application/json")
        return Response(_json_body({"object": "list", "data": [
            {"id": settings.model_name, "object": "model", "created": int(started), "owned_by": "lisa-local"}]}),
            media_type="application/json")

    async def health(request: Request) -> Response:
        admission = chat.admission
        return Response(_json_body({
            "status": "ok", "model": settings.model_name, "weights": MODEL_ID, "context_tokens": settings.context_tokens,
            "running": admission.running if admission else 0, "waiting": admission.waiting if admission else 0,
            "answers": dict(chat.endings)}), media_type="application/json")

    routes = [Route("/health", health, methods=["GET"])]
    for prefix in ("/v1", ""):
        routes += [Route(f"{prefix}/chat/completions", chat), Route(f"{prefix}/models", models, methods=["GET"])]
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        chat.closing.set()
        chat.workers.shutdown(wait=True, cancel_futures=True)
        model.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.chat = chat
    return app
