"""Calls to the serve gateway: embeddings (with the platform's master key) and chat completions (with the caller's
own credentials).

Why the master key for embeddings: an ingest job outlives the request that started it (and the caller's JWT may
expire mid-way); the api has already decided that the caller may use the repository, as LISA's RAG functions do
with their management key. Chat is different: it runs inside the caller's request, so it carries the caller's
credentials and serve decides which models that caller may use.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, Sequence

import httpx
import numpy as np
import orjson

from core.secrets import SecretUnavailable
from services.rag.errors import EmbeddingModelError, GatewayError

SERVE_PREFIX = "/v2/serve"


def error_message(response: httpx.Response) -> str:
    """The message of an OpenAI (or LISA) error body, else the status line."""
    try:
        body = orjson.loads(response.content)
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        if isinstance(body.get("message"), str):
            return body["message"][:500]
    except (orjson.JSONDecodeError, AttributeError):
        pass
    return f"HTTP {response.status_code}"


def vectors_from(body: bytes, expected: int) -> np.ndarray:
    """The (n, d) float32 matrix of an OpenAI embeddings response, in input order."""
    try:
        data = orjson.loads(body)["data"]
        rows = sorted(data, key=lambda d: d["index"])
        matrix = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise GatewayError("the embedding model answered something that is not an embeddings response") from None
    if matrix.ndim != 2 or matrix.shape[0] != expected or matrix.shape[1] == 0:
        raise GatewayError(f"the embedding model returned {matrix.shape[0] if matrix.ndim else 0} vectors for {expected} inputs")
    return matrix


class Gateway:
    """Embeddings through serve. `credentials` gives the keys to present, best first (the master key's candidates:
    after a rotation serve may still expect the previous one for a while, so a 401 tries the next)."""

    def __init__(self, base_url: str, credentials: Callable[[], Sequence[str]], *, timeout_s: float = 120.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout_s = timeout_s
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport,
                                    limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))

    def close(self) -> None:
        self._client.close()

    def embed(self, model: str, texts: list[str]) -> np.ndarray:
        try:
            credentials = self.credentials()
        except SecretUnavailable:
            raise GatewayError("could not read the gateway credentials") from None
        body = orjson.dumps({"model": model, "input": texts})
        for credential in credentials:
            response = self._post_embeddings(model, body, credential)
            if response.status_code != 401:
                break
        if response.status_code == 404:
            raise EmbeddingModelError(f"unknown embedding model {model}: {error_message(response)}", param="embeddingModel")
        if response.status_code in (400, 422):
            raise EmbeddingModelError(f"the model {model} cannot embed this: {error_message(response)}",
                                      param="embeddingModel")
        if response.status_code != 200:
            raise GatewayError(f"the serve gateway answered {response.status_code} for embeddings with {model}: "
                               f"{error_message(response)}")
        return vectors_from(response.content, len(texts))

    def _post_embeddings(self, model: str, body: bytes, credential: str) -> httpx.Response:
        try:
            return self._client.post(f"{SERVE_PREFIX}/embeddings", content=body,
                                     headers={"authorization": f"Bearer {credential}", "content-type": "application/json"})
        except httpx.TimeoutException:
            raise GatewayError(f"the embedding model {model} did not answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise GatewayError(f"the serve gateway is unreachable ({type(exc).__name__})") from None

    def embed_batches(self, model: str, batches: Iterable[list[str]], concurrency: int = 2) -> Iterator[np.ndarray]:
        """The vectors of each batch, in order, with up to `concurrency` requests in flight (the model stays busy
        while the previous batch is being written)."""
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="embed")
        pending: deque[Future[np.ndarray]] = deque()
        try:
            for batch in batches:
                pending.append(pool.submit(self.embed, model, batch))
                if len(pending) >= concurrency:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            # A consumer that stops early (a failed write, a deleted document) must not wait for requests in flight.
            pool.shutdown(wait=False, cancel_futures=True)


class ChatGateway:
    """Chat completions through serve with the caller's own credentials (async: the answer may stream)."""

    def __init__(self, base_url: str, *, timeout_s: float = 600.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), transport=transport,
                                         timeout=httpx.Timeout(timeout_s, connect=5.0))

    async def open(self, body: dict, headers: dict[str, str]) -> httpx.Response:
        """The gateway's response, its body not yet read (the caller streams or reads it, then closes it)."""
        request = self._client.build_request("POST", f"{SERVE_PREFIX}/chat/completions", content=orjson.dumps(body),
                                             headers={**headers, "content-type": "application/json"})
        try:
            return await self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise GatewayError("the model did not answer in time") from None
        except httpx.HTTPError as exc:
            raise GatewayError(f"the serve gateway is unreachable ({type(exc).__name__})") from None

    async def aclose(self) -> None:
        await self._client.aclose()
