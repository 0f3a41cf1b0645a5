"""RAG repositories (LISA's `/repository` API): ingest documents, search them, and chat with their sources.

Repositories come from the stage config (`ragRepositories`). A repository with `allowedGroups` is usable only by
members of one of those groups (and admins); an empty list means every signed-in user. A repository the caller may
not use answers 403, an unknown one 404. Errors are LISA's `{"error": "<Type>", "message": "..."}`: 400 bad
content (empty file, unreadable or encrypted PDF, no text, unknown embedding model, embedding dimension differing
from the repository's), 403, 404, 413 (file ≥ 50 MiB), 415 (unsupported type), 422 (a field out of range: topK,
query length, chunk size/overlap).

Routes:

    GET    /repository                                → 200 [Repository]  the ones the caller may use
    GET    /repository/{repositoryId}                 → 200 Repository (+ "embeddingModel", "dimension" once ingested)
    POST   /repository/presigned-url                  body {"fileName": str}
                                                      → 200 {"key", "url", "fields", "expiresIn", "maxBytes"}
             then POST the file to `url` as multipart/form-data: every entry of `fields`, then the file as "file";
             then call /bulk with the returned `key`.
    POST   /repository/{repositoryId}/bulk            body IngestRequest → 200 {"jobs": [Job]}
    POST   /repository/{repositoryId}/document        multipart/form-data: "file" (one or more), optional
                                                      "embeddingModel", "chunkSize", "chunkOverlap" → 200 {"jobs": [Job]}
    GET    /repository/{repositoryId}/document        → 200 {"documents": [Document], "totalDocuments": n}
    GET    /repository/{repositoryId}/jobs            → 200 {"jobs": [Job]}   newest first; ingest progress per document
    GET    /repository/{repositoryId}/{documentId}    → 200 Document | 404
    DELETE /repository/{repositoryId}/{documentId}    → 200 {"documentIds": [id], "recordsPurged": n}
    DELETE /repository/{repositoryId}/document        body {"documentIds": [id, ...]} → same, for several
    GET    /repository/{repositoryId}/similaritySearch?query=...&topK=3&modelName=<embedding model>
                                                      → 200 {"docs": [{"Document": {"page_content", "metadata"}}]}
    POST   /repository/{repositoryId}/similaritySearch  body {"query", "topK", "modelName"} → same (long queries)
    POST   /repository/{repositoryId}/chat/completions  RAG chat, see below

Ingest: the request validates, reads and parses the file and chunks it at once (so a bad file is a 4xx, and nothing
is stored), checks the embedding model by embedding the first chunk, stores the original in S3, records the document
with status INGESTION_PENDING and returns. A background job embeds the chunks (through the serve gateway's
`/v2/serve/embeddings`, so any registered embedding model works) and writes them to the store in one transaction:
INGESTION_IN_PROGRESS (with `chunksEmbedded` rising) → INGESTION_COMPLETED, or INGESTION_FAILED with `error` and
nothing of the document left in the store. Deleting a document removes its vectors, its S3 object and its record
(and stops its job first). A job interrupted by a restart or a crash is resumed from the stored original by an api
process within about a minute (its record's heartbeat stops; see services/rag/ingest.py).
A repository's embedding dimension is fixed by its first ingest; a model with another dimension is a 400.

Shapes (JSON, camelCase):

    Repository     {"repositoryId", "type": "pgvector" | "opensearch", "allowedGroups": [str], "chunkSize",
                    "chunkOverlap", "defaultEmbeddingModel": str | null}
    IngestRequest  {"keys": [str], "embeddingModel": {"modelName": str} | str (optional: repository default),
                    "chunkingStrategy": {"type": "fixed", "size": int, "overlap": int} (optional: repository default)}
                    keys are those returned by /repository/presigned-url for the caller.
    Job            {"jobId", "documentId", "documentName", "status", "chunks", "chunksEmbedded", "error",
                    "s3Path", "embeddingModel", "createdDate", "updatedDate"}
    Document       Job + {"repositoryId", "source" (s3://…), "username", "contentType", "size",
                    "chunkStrategy": {"type": "fixed", "size", "overlap"}, "uploadDate"}
    metadata       {"documentId", "documentName", "source", "page" (1-based, PDF only, else null), "chunkIndex",
                    "similarity_score" (cosine similarity, higher is closer)}
    topK: 1-100 (default 3); query: 1-10 000 characters. A GET carries the query in the URL, which HTTP servers
    and load balancers cap (uvicorn refuses request lines over ~80 KB with a plain 400, an ALB answers 414 over
    16 KB): send long queries with POST.

RAG in chat: `POST /repository/{repositoryId}/chat/completions` takes an OpenAI chat-completions body plus
`"topK"` (default 3) and `"embeddingModel"` (default: the repository's). The last user message is the search query;
the top-K chunks go into a system message with numbered sources, and the request goes on to the serve gateway with
the caller's own credentials (so serve decides which models the caller may use). The answer is OpenAI's
`chat.completion` object with one extra field, `"sources"`; with `"stream": true` it is OpenAI's SSE stream whose
first chunk carries `"sources"`, ending with `data: [DONE]`. Any OpenAI client works against it
(`base_url=<api>/repository/<id>`, extra fields via `extra_body`).

    Source         {"index" (the [n] the prompt cites), "documentId", "documentName", "source", "page", "chunkIndex",
                    "score", "excerpt" (≤ 300 characters of the chunk)}
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.datastructures import UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool

from core.errors import InvalidInputError, ValidationError
from core.openai_requests import CHAT, check_request
from core.schema import describe_validation_errors
from services.rag.errors import DocumentTooLargeError, GatewayError, ModelRefusedError, StoreUnavailableError
from services.rag.gateway import ChatGateway, error_message
from services.rag.retrieval import last_user_query, rag_messages, search_results, sources
from services.rag.service import RagService
from services.rag.settings import RagSettings
from services.identity.dependencies import require_user
from services.identity.principal import Principal

log = logging.getLogger("lisa.api.repositories")
DEFAULT_TOP_K = 3


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the RAG service with the app, resume orphaned ingest jobs now and then, and stop jobs cleanly at shutdown."""
    service, sweeper = None, None
    platform = getattr(app.state, "platform", None)
    settings = RagSettings()
    if platform is not None and (settings.serve_url or platform.serve_url):
        service = RagService(platform, settings, master_key=app.state.authenticator.master_key)
        app.state.rag = service
        app.state.rag_chat = ChatGateway(service.gateway.base_url, timeout_s=settings.gateway_timeout_s)
        sweeper = asyncio.create_task(_resume_orphans(service, settings.resume_interval_s))
    else:
        log.warning("RAG routes disabled: set LISA_RAG_SERVE_URL (or the platform's serveUrl)")
    try:
        yield
    finally:
        if service is not None:
            sweeper.cancel()
            await app.state.rag_chat.aclose()
            await run_in_threadpool(service.close)


async def _resume_orphans(service: RagService, interval_s: float) -> None:
    while True:
        try:
            resumed = await run_in_threadpool(service.resume)
            if resumed:
                log.info("resumed %d orphaned ingest jobs", resumed)
        except Exception:  # noqa: BLE001 (the next round tries again)
            log.exception("could not resume orphaned ingest jobs")
        await asyncio.sleep(interval_s)


router = APIRouter(tags=["repositories"], lifespan=_lifespan)


def _rag(request: Request) -> RagService:
    service = getattr(request.app.state, "rag", None)
    if service is None:
        raise StoreUnavailableError("RAG is not configured on this api: set LISA_RAG_SERVE_URL")
    return service


class EmbeddingModelRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    modelName: str = Field(min_length=1, max_length=512)


class ChunkingStrategy(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = "fixed"
    size: int
    overlap: int = 0


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    keys: list[str] = Field(min_length=1, max_length=100)
    embeddingModel: EmbeddingModelRef | str | None = None
    chunkingStrategy: ChunkingStrategy | None = None

    @property
    def model_name(self) -> str | None:
        return self.embeddingModel.modelName if isinstance(self.embeddingModel, EmbeddingModelRef) else self.embeddingModel


class PresignedUrlRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    fileName: str = Field(min_length=1, max_length=1024)


class DeleteDocumentsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    documentIds: list[str] = Field(min_length=1, max_length=1000)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str | None = None
    topK: int = DEFAULT_TOP_K
    modelName: str | None = None


def _parse(model: type[BaseModel], raw: bytes) -> Any:
    try:
        return model.model_validate_json(raw or b"{}")
    except PydanticValidationError as exc:
        problems = describe_validation_errors(exc.errors())
        raise ValidationError("; ".join(problems), problems=problems) from None


def _int(value: str | None, name: str, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"{name} must be an integer, got {value[:32]!r}", param=name) from None


def _jobs(records) -> dict[str, Any]:
    return {"jobs": [r.job() for r in records]}


# repositories -----------------------------------------------------------------------------------------------------
@router.get("/repository")
def list_repositories(request: Request, principal: Principal = Depends(require_user)) -> list[dict[str, Any]]:
    return _rag(request).repositories(principal)


@router.post("/repository/presigned-url")
async def presigned_url(request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    body = _parse(PresignedUrlRequest, await request.body())
    return await run_in_threadpool(_rag(request).presigned_upload, principal, body.fileName)


@router.get("/repository/{repositoryId}")
def get_repository(repositoryId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return _rag(request).repository(principal, repositoryId)


# ingest -----------------------------------------------------------------------------------------------------------
@router.post("/repository/{repositoryId}/bulk")
async def ingest_uploads(repositoryId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    body = _parse(IngestRequest, await request.body())
    strategy = body.chunkingStrategy
    records = await run_in_threadpool(
        _rag(request).ingest_uploads, principal, repositoryId, body.keys, model=body.model_name,
        chunk_size=strategy.size if strategy else None, chunk_overlap=strategy.overlap if strategy else None)
    return _jobs(records)


@router.post("/repository/{repositoryId}/document")
async def ingest_files(repositoryId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    service = _rag(request)
    limit = service.settings.max_document_bytes
    if int(request.headers.get("content-length") or 0) > limit + 64 * 1024 * 16:
        raise DocumentTooLargeError(f"the upload is larger than the document limit of {limit} bytes")
    form = await request.form(max_files=16, max_fields=16)
    try:
        uploads = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        if not uploads:
            raise InvalidInputError("send the document as the multipart field 'file'", param="file")
        files = []
        for upload in uploads:
            if upload.size is not None and upload.size >= limit:
                raise DocumentTooLargeError(f"{upload.filename} is {upload.size} bytes; documents must be smaller "
                                            f"than {limit} bytes")
            files.append((upload.filename or "document", await upload.read(limit)))
        model = form.get("embeddingModel")
        records = await run_in_threadpool(
            service.ingest_files, principal, repositoryId, files,
            model=model if isinstance(model, str) and model else None,
            chunk_size=_int(_field(form, "chunkSize"), "chunkSize", None),
            chunk_overlap=_int(_field(form, "chunkOverlap"), "chunkOverlap", None))
    finally:
        await form.close()
    return _jobs(records)


def _field(form, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


# documents --------------------------------------------------------------------------------------------------------
@router.get("/repository/{repositoryId}/document")
def list_documents(repositoryId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    records = _rag(request).documents(principal, repositoryId)
    return {"documents": [r.model_dump(mode="json") for r in records], "totalDocuments": len(records)}


@router.delete("/repository/{repositoryId}/document")
async def delete_documents(repositoryId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    body = _parse(DeleteDocumentsRequest, await request.body())
    return await run_in_threadpool(_rag(request).delete_documents, principal, repositoryId, body.documentIds)


@router.get("/repository/{repositoryId}/jobs")
def list_jobs(repositoryId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return _jobs(_rag(request).documents(principal, repositoryId))


# search -----------------------------------------------------------------------------------------------------------
# Search answers are serialised with orjson directly: FastAPI's encoder is the slowest part of the route otherwise.
@router.get("/repository/{repositoryId}/similaritySearch")
def similarity_search(repositoryId: str, request: Request, query: str | None = None, topK: str | None = None,
                      modelName: str | None = None, principal: Principal = Depends(require_user)) -> Response:
    top_k = _int(topK, "topK", DEFAULT_TOP_K)
    return _orjson(search_results(_rag(request).search(principal, repositoryId, query, top_k, modelName)))


@router.post("/repository/{repositoryId}/similaritySearch")
async def similarity_search_post(repositoryId: str, request: Request, principal: Principal = Depends(require_user)) -> Response:
    body = _parse(SearchRequest, await request.body())
    hits = await run_in_threadpool(_rag(request).search, principal, repositoryId, body.query, body.topK, body.modelName)
    return _orjson(search_results(hits))


def _orjson(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


# RAG chat ---------------------------------------------------------------------------------------------------------
@router.post("/repository/{repositoryId}/chat/completions")
async def rag_chat(repositoryId: str, request: Request, principal: Principal = Depends(require_user)):
    service = _rag(request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise InvalidInputError("the body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
        raise InvalidInputError("send an OpenAI chat body with a non-empty messages list", param="messages")
    top_k = body.pop("topK", DEFAULT_TOP_K)
    embedding_model = body.pop("embeddingModel", None)
    if not isinstance(top_k, int) or isinstance(top_k, bool):
        raise ValidationError("topK must be an integer", param="topK")
    if embedding_model is not None and not isinstance(embedding_model, str):
        raise ValidationError("embeddingModel must be a model id", param="embeddingModel")
    check_request(CHAT, body)  # the body goes on to serve: only OpenAI's allow-listed fields, in range
    query = last_user_query(body["messages"])
    hits = await run_in_threadpool(service.search, principal, repositoryId, query, top_k, embedding_model)
    body["messages"] = rag_messages(body["messages"], hits)
    cited = sources(hits)
    headers = {k: v for k, v in request.headers.items() if k in ("authorization", "api-key")}
    response = await request.app.state.rag_chat.open(body, headers)
    if response.status_code != 200:
        content = await response.aread()
        await response.aclose()
        raise ModelRefusedError(error_message(httpx.Response(response.status_code, content=content)), response.status_code)
    if not body.get("stream"):
        try:
            answer = orjson.loads(await response.aread())
        except orjson.JSONDecodeError:
            raise GatewayError("the model answered something that is not a chat completion") from None
        finally:
            await response.aclose()
        answer["sources"] = cited
        return JSONResponse(answer)
    return StreamingResponse(_with_sources(response, cited), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


async def _with_sources(response: httpx.Response, cited: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    """The gateway's SSE stream as is, with `sources` added to its first data chunk."""
    pending = True
    try:
        async for line in response.aiter_lines():
            if pending and line.startswith("data: {"):
                try:
                    chunk = orjson.loads(line[6:])
                    chunk["sources"] = cited
                    line = "data: " + orjson.dumps(chunk).decode()
                    pending = False
                except orjson.JSONDecodeError:
                    pass
            yield (line + "\n").encode()
    finally:
        await response.aclose()


# one document (after the literal routes above, which its path would otherwise shadow) ------------------------------
@router.get("/repository/{repositoryId}/{documentId}")
def get_document(repositoryId: str, documentId: str, request: Request,
                 principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return _rag(request).document(principal, repositoryId, documentId).model_dump(mode="json")


@router.delete("/repository/{repositoryId}/{documentId}")
def delete_document(repositoryId: str, documentId: str, request: Request,
                    principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return _rag(request).delete_documents(principal, repositoryId, [documentId])
