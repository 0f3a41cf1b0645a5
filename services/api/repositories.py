"""RAG repositories (LISA v6's `/repository` API): repositories and their collections managed at runtime, documents
ingested, listed, downloaded and deleted, similarity search (vector or hybrid, filtered by metadata), RAG chat.

Repositories come from the stage config (`ragRepositories`, made by the core stack) or from `POST /repository`
(admins): each of those is a Pulumi stack of its own (services/api/engine/repositories.py), deployed in the
background: `CREATE_IN_PROGRESS` → `CREATE_COMPLETE` | `CREATE_FAILED`, updates `UPDATE_*`, deletes
`DELETE_IN_PROGRESS` → gone (or `DELETE_FAILED`). `?dryRun=true` answers the stack's preview, writing nothing.

Who may do what (LISA's rules, tested as a matrix in tests/integration/test_rag_access.py):
- a repository is used by admins, RAG admins (`ragAdminGroup`) and the members of its `allowedGroups` (everyone
  signed in when empty); a collection additionally by the members of its own `allowedGroups`;
- repositories are created and deleted by admins; updated by admins, and by RAG admins for `pipelines` only;
- collections are created, changed and deleted by admins and RAG admins;
- a document is ingested, listed, searched and downloaded by anyone who may use its collection (a download reveals
  nothing search does not: every chunk is readable there); deleted by its uploader, admins and RAG admins;
- the embedding model of a collection must be usable by the caller (its allowedGroups) before the api embeds for
  them with the platform's key.
Errors are LISA's `{"error", "message"}`: 400 bad input or content, 403, 404, 409 (exists, or busy), 413, 415,
422 (a field out of range), 503 (RAG not configured).

Shapes are LISA's: VectorStoreConfig (+ status), RagCollectionConfig, RagDocument and IngestionJob in snake_case,
the presigned POST as `{"response": {url, fields}}` for a raw-key body (a JSON `{"fileName"}` body answers
`{key, url, fields, expiresIn, maxBytes}`), `/bulk` as `{"jobs", "collectionId", "collectionName"}`.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any, AsyncIterator, Literal, NoReturn
from urllib.parse import unquote

import httpx
import orjson
from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams, UploadFile

from core import aws
from core.errors import InvalidInputError, ValidationError
from core.openai_requests import CHAT, check_request
from core.periodic import Periodic
from core.rag import (REPOSITORY_UPDATABLE, ChunkingStrategy, CollectionConfig, RagMetadata, RepositoryConfig,
                      UpdateCollectionRequest, UpdateRepositoryRequest, VectorStoreStatus)
from core.schema import describe_validation_errors
from services.api.audit_trail import audit
from services.api.contract import errors, query_parameters
from services.identity.dependencies import require_user
from services.identity.principal import Principal
from services.rag.errors import DocumentTooLargeError, GatewayError, ModelRefusedError, StoreUnavailableError
from services.rag.gateway import ChatGateway, error_message
from services.rag.retrieval import last_user_query, rag_messages, search_results, sources
from services.rag.pipelines import PipelineWorker
from services.rag.service import IngestOptions, RagService
from services.rag.settings import RagSettings
from services.rag.stores.base import ChunkFilter

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
        await run_in_threadpool(service.sync_stage_repositories)
        app.state.rag = service
        app.state.rag_chat = ChatGateway(service.gateway.base_url, timeout_s=settings.gateway_timeout_s)
        sweeper = asyncio.create_task(_resume_orphans(service, settings.resume_interval_s))
        pipelines = _pipeline_poller(service, settings)
        pipelines.start()
        deployer = getattr(app.state, "repository_engine", None)
        if deployer is not None:
            service.redeploy = deployer.submit  # a collection's event pipelines live in its repository's stack
        if deployer is not None and app.state.settings.engine_resume_on_start:
            resumed = await run_in_threadpool(deployer.resume)
            if resumed:
                log.info("resuming %d repository deployment(s): %s", len(resumed), ", ".join(resumed))
    else:
        log.warning("RAG routes disabled: set LISA_RAG_SERVE_URL (or the platform's serveUrl)")
    try:
        yield
    finally:
        if service is not None:
            sweeper.cancel()
            await pipelines.stop()
            deployer = getattr(app.state, "repository_engine", None)
            if deployer is not None:
                await run_in_threadpool(deployer.shutdown)
            await app.state.rag_chat.aclose()
            await run_in_threadpool(service.close)


def _pipeline_poller(service: RagService, settings: RagSettings) -> Periodic:
    """The repositories' pipelines every pipeline_poll_s: listings (the emulator; daily pipelines) and, in AWS, the
    queues their stacks route S3 events to (services/rag/pipelines.py)."""
    mode = settings.pipeline_mode if settings.pipeline_mode != "auto" else ("scan" if aws.endpoint_url() else "queue")
    worker = PipelineWorker(service, mode=mode)
    return Periodic(lambda: run_in_threadpool(worker.tick), settings.pipeline_poll_s, name="rag pipelines")


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
# The busiest read alone, so the app can include it first: FastAPI tries routers in order, ~5 µs a route.
search_router = APIRouter(tags=["repositories"])


def _rag(request: Request) -> RagService:
    service = getattr(request.app.state, "rag", None)
    if service is None:
        raise StoreUnavailableError("RAG is not configured on this api: set LISA_RAG_SERVE_URL")
    return service


def _deployer(request: Request):
    return request.app.state.repository_engine


def _preview(request: Request, record, *, new: bool = False) -> dict[str, Any]:
    from services.api.engine.jobs import PreviewFailed

    try:
        return {"preview": _deployer(request).preview(record, new=new)}
    except PreviewFailed as exc:
        raise InvalidInputError(f"the preview failed: {exc}") from None


# wire models ------------------------------------------------------------------------------------------------------
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


RepositoryStatus = Literal["CREATE_IN_PROGRESS", "CREATE_COMPLETE", "CREATE_FAILED", "UPDATE_IN_PROGRESS",
                           "UPDATE_COMPLETE", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_FAILED",
                           "DELETE_IN_PROGRESS", "DELETE_FAILED", "UNKNOWN"]
IngestStatus = Literal["INGESTION_PENDING", "INGESTION_IN_PROGRESS", "INGESTION_COMPLETED", "INGESTION_FAILED",
                       "DELETE_PENDING", "DELETE_IN_PROGRESS", "DELETE_COMPLETED", "DELETE_FAILED"]


class RepositoryView(_Open):
    """LISA's VectorStoreConfig and its status (+ embeddingModel and dimension of the default collection)."""

    repositoryId: str
    repositoryName: str | None = None
    description: str | None = None
    type: Literal["pgvector", "opensearch"]
    status: RepositoryStatus
    statusReason: str | None = None
    embeddingModelId: str | None = None
    allowedGroups: list[str] = []
    metadata: dict[str, Any] = {}
    source: Literal["stage", "api"] = "api"
    searchType: Literal["vector", "hybrid"] = "vector"
    chunkSize: int | None = None
    chunkOverlap: int | None = None
    defaultEmbeddingModel: str | None = None
    embeddingModel: str | None = None
    dimension: int | None = None


class RepositoryAccepted(BaseModel):
    status: Literal["success"] = "success"
    repositoryId: str
    repository: RepositoryView


class Preview(BaseModel):
    preview: dict[str, Any]


class RepositoryDeleted(BaseModel):
    status: Literal["success"] = "success"
    repositoryId: str
    executionArn: str | None = None


class CollectionView(_Open):
    collectionId: str
    repositoryId: str
    name: str
    description: str | None = None
    embeddingModel: str
    chunkingStrategy: dict[str, Any]
    allowedGroups: list[str] = []
    metadata: dict[str, Any] = {}
    status: Literal["ACTIVE", "ARCHIVED", "DELETED", "DELETE_IN_PROGRESS", "DELETE_FAILED"]
    default: bool = False
    createdAt: str | None = None
    updatedAt: str | None = None


class CollectionPage(BaseModel):
    collections: list[CollectionView]
    totalCount: int
    currentPage: int | None = None
    totalPages: int | None = None
    lastEvaluatedKey: dict[str, Any] | None = None
    hasNextPage: bool
    hasPreviousPage: bool


class CollectionDeleted(BaseModel):
    deleted: bool
    collectionId: str
    documentsDeleted: int


class ShortJob(BaseModel):
    jobId: str
    documentId: str
    status: IngestStatus
    s3Path: str
    documentName: str | None = None


class IngestAccepted(BaseModel):
    jobs: list[ShortJob]
    collectionId: str
    collectionName: str


class DocumentsDeleted(BaseModel):
    jobs: list[ShortJob]
    documentIds: list[str]
    recordsPurged: int


class RagDocument(_Open):
    """LISA's RagDocument, snake_case (+ status, chunks_embedded, embedding_model, content_type, size)."""

    pk: str
    document_id: str
    repository_id: str
    collection_id: str
    document_name: str
    source: str
    username: str
    chunk_strategy: dict[str, Any]
    ingestion_type: Literal["manual", "auto", "existing"]
    upload_date: int
    chunks: int
    metadata: dict[str, Any] = {}
    status: IngestStatus
    chunks_embedded: int = 0
    embedding_model: str
    content_type: str | None = None
    size: int | None = None
    error_message: str | None = None


class DocumentPage(BaseModel):
    documents: list[RagDocument]
    lastEvaluated: dict[str, str] | None
    totalDocuments: int
    hasNextPage: bool
    hasPreviousPage: bool


class IngestionJob(_Open):
    id: str
    s3_path: str
    collection_id: str
    document_id: str
    repository_id: str
    status: IngestStatus
    created_date: str
    document_name: str
    embedding_model: str
    username: str
    ingestion_type: str
    error_message: str | None = None
    chunks: int = 0
    chunks_embedded: int = 0


class JobPage(BaseModel):
    jobs: list[IngestionJob]
    lastEvaluatedKey: dict[str, str] | None
    hasNextPage: bool
    hasPreviousPage: bool


class PresignedFields(BaseModel):
    url: str
    fields: dict[str, str]


class PresignedLisa(BaseModel):
    response: PresignedFields


class PresignedUpload(BaseModel):
    key: str
    url: str
    fields: dict[str, str]
    expiresIn: int
    maxBytes: int


class SearchDocument(BaseModel):
    page_content: str
    metadata: dict[str, Any]


class SearchHit(BaseModel):
    Document: SearchDocument


class SearchResults(BaseModel):
    docs: list[SearchHit]


class EmbeddingModelRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    modelName: str = Field(min_length=1, max_length=512)


class IngestRequest(BaseModel):
    """LISA's bulk ingest body; keys are those /repository/presigned-url gave the caller."""

    model_config = ConfigDict(extra="ignore")
    keys: list[str] = Field(min_length=1, max_length=100)
    collectionId: str | None = Field(default=None, max_length=128)
    embeddingModel: EmbeddingModelRef | str | None = None
    chunkingStrategy: ChunkingStrategy | None = None
    metadata: RagMetadata | None = None

    @property
    def model_name(self) -> str | None:
        return self.embeddingModel.modelName if isinstance(self.embeddingModel, EmbeddingModelRef) else self.embeddingModel


class DeleteDocumentsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    documentIds: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(min_length=1, max_length=1000)


class SearchFilter(BaseModel):
    """Which chunks a search may return: every tag must be on the document, every custom field equal."""

    model_config = ConfigDict(extra="forbid")
    tags: list[str] = Field(default_factory=list, max_length=50)
    customFields: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=50)
    documentIds: list[str] = Field(default_factory=list, max_length=1000)

    def chunk_filter(self) -> ChunkFilter:
        return ChunkFilter(document_ids=frozenset(self.documentIds), tags=frozenset(self.tags),
                           fields=tuple(sorted(self.customFields.items())))


class SearchQuery(BaseModel):
    """GET similaritySearch's query string (LISA's names; topK arrives as text and is parsed with a clear error)."""
    model_config = ConfigDict(extra="ignore")
    query: str | None = None
    topK: str | None = None
    collectionId: str | None = Field(default=None, max_length=128)
    modelName: str | None = None
    filter: str | None = Field(default=None, max_length=8192, description="JSON {tags, customFields}")
    searchType: Literal["vector", "hybrid"] | None = None


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str | None = None
    topK: int = DEFAULT_TOP_K
    collectionId: str | None = Field(default=None, max_length=128)
    modelName: str | None = None
    filter: SearchFilter | None = None
    searchType: Literal["vector", "hybrid"] | None = None


def _parse(model: type[BaseModel], raw: bytes) -> Any:
    try:
        return model.model_validate_json(raw or b"{}")
    except PydanticValidationError as exc:
        _refuse(exc)


def _parse_query(model: type[BaseModel], query: QueryParams) -> Any:
    try:
        return model.model_validate(dict(query))  # a repeated name: its last value, as FastAPI takes it
    except PydanticValidationError as exc:
        _refuse(exc)


def _refuse(exc: PydanticValidationError) -> NoReturn:
    problems = describe_validation_errors(exc.errors())
    raise ValidationError("; ".join(problems), problems=problems) from None


def _int(value: str | None, name: str, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"{name} must be an integer, got {value[:32]!r}", param=name) from None


def _filter(raw: str | None) -> ChunkFilter | None:
    if not raw:
        return None
    try:
        return SearchFilter.model_validate_json(raw).chunk_filter()
    except PydanticValidationError as exc:
        raise ValidationError("filter: " + "; ".join(describe_validation_errors(exc.errors())), param="filter") from None


def _json_key(raw: str | None, name: str) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        value = orjson.loads(unquote(raw))
    except orjson.JSONDecodeError:
        raise InvalidInputError(f"{name} must be the (URL-encoded) JSON object a previous page returned") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidInputError(f"{name} must be the JSON object a previous page returned")
    return value


def _accepted(collection, records) -> dict[str, Any]:
    return {"jobs": [r.job() for r in records], "collectionId": collection.collection_id,
            "collectionName": collection.name}


def _orjson(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


DryRun = Query(False, alias="dryRun", description="answer the stack's preview; write nothing")


# repositories -----------------------------------------------------------------------------------------------------
@router.get("/repository", response_model=list[RepositoryView], responses=errors(503))
def list_repositories(request: Request, principal: Principal = Depends(require_user)) -> list[dict[str, Any]]:
    return _rag(request).repositories(principal)


@router.get("/repository/status", response_model=dict[str, str], responses=errors(503))
def repository_statuses(request: Request, principal: Principal = Depends(require_user)) -> dict[str, str]:
    return _rag(request).statuses(principal)


@router.post("/repository", response_model=RepositoryAccepted | Preview, responses=errors(409, 503))
def create_repository(config: RepositoryConfig, request: Request, dry_run: bool = DryRun,
                      principal: Principal = Depends(require_user)) -> dict[str, Any]:
    service = _rag(request)
    record = service.new_repository(principal, config)
    if dry_run:
        return _preview(request, record, new=True)
    record = service.create_repository(record)
    _deployer(request).submit(record.repository_id)
    audit(request, principal, "repository.create", record.repository_id, type=record.type)
    return {"repositoryId": record.repository_id, "repository": service.describe(record)}


@router.get("/repository/collections", response_model=CollectionPage, responses=errors(503))
def list_all_collections(request: Request, pageSize: int = Query(20, ge=1, le=100),
                         filter: str | None = Query(None, max_length=256),
                         sortBy: Literal["name", "createdAt", "updatedAt"] = "createdAt",
                         sortOrder: Literal["asc", "desc"] = "desc",
                         lastEvaluatedKey: str | None = Query(None, max_length=2048),
                         principal: Principal = Depends(require_user)) -> dict[str, Any]:
    start = _json_key(lastEvaluatedKey, "lastEvaluatedKey") if lastEvaluatedKey and not lastEvaluatedKey.isdigit() \
        else None
    offset = int((start or {}).get("offset", lastEvaluatedKey if lastEvaluatedKey and lastEvaluatedKey.isdigit() else 0))
    return _rag(request).all_collections(principal, page_size=pageSize, text=filter, sort_by=sortBy,
                                         sort_order=sortOrder, offset=max(offset, 0))


@router.post("/repository/presigned-url", response_model=PresignedLisa | PresignedUpload, responses=errors(415, 503),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/plain": {"schema": {"type": "string", "minLength": 1, "maxLength": 900}},
                 "application/json": {"schema": {"type": "object", "required": ["fileName"], "properties": {
                     "fileName": {"type": "string", "minLength": 1, "maxLength": 1024}}}}}}})
async def presigned_url(request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    """LISA: the body is the S3 key (raw), answered `{"response": {url, fields}}`; a JSON `{"fileName"}` body gets a
    fresh key and `{key, url, fields, expiresIn, maxBytes}`."""
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = raw.decode("utf-8", errors="replace")
    service = _rag(request)
    if isinstance(body, dict):
        name = body.get("fileName")
        if not isinstance(name, str) or not 1 <= len(name) <= 1024:
            raise ValidationError("fileName: a file name of 1-1024 characters", param="fileName")
        return await run_in_threadpool(service.presigned_upload, principal, name)
    if not isinstance(body, str) or not body.strip():
        raise InvalidInputError("send the S3 key as the body (or JSON {\"fileName\": ...})")
    post = await run_in_threadpool(service.presigned_upload, principal, body, client_key=True)
    return {"response": {"url": post["url"], "fields": post["fields"]}}


@router.get("/repository/{repositoryId}", response_model=RepositoryView, responses=errors(404, 503))
def get_repository(repositoryId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return _rag(request).repository(principal, repositoryId)


@router.put("/repository/{repositoryId}", response_model=RepositoryView | Preview, responses=errors(404, 409, 503))
def update_repository(repositoryId: str, update: UpdateRepositoryRequest, request: Request, dry_run: bool = DryRun,
                      principal: Principal = Depends(require_user)) -> dict[str, Any]:
    service = _rag(request)
    updated = service.updated_repository(principal, repositoryId, update)
    if dry_run:
        return _preview(request, updated)
    stack_changes = updated.source == "api" and "pipelines" in update.changes()
    status = VectorStoreStatus.UPDATE_IN_PROGRESS if stack_changes else VectorStoreStatus.UPDATE_COMPLETE
    saved = service.save_repository(updated, status=status, expected=REPOSITORY_UPDATABLE)
    if stack_changes:
        _deployer(request).submit(repositoryId)
    audit(request, principal, "repository.update", repositoryId, changes=sorted(update.changes()))
    return service.describe(saved)


@router.delete("/repository/{repositoryId}", response_model=RepositoryDeleted, responses=errors(404, 409, 503))
def delete_repository(repositoryId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    _rag(request).begin_delete(principal, repositoryId)
    _deployer(request).submit(repositoryId)
    audit(request, principal, "repository.delete", repositoryId)
    return {"repositoryId": repositoryId}


# collections ------------------------------------------------------------------------------------------------------
@router.get("/repository/{repositoryId}/collection", response_model=CollectionPage, responses=errors(404, 503))
def list_collections(repositoryId: str, request: Request, page: int = Query(1, ge=1, le=100_000),
                     pageSize: int = Query(20, ge=1, le=100), filter: str | None = Query(None, max_length=256),
                     status: Literal["ACTIVE", "ARCHIVED", "DELETED", "DELETE_IN_PROGRESS", "DELETE_FAILED"] | None = None,
                     sortBy: Literal["name", "createdAt", "updatedAt"] = "createdAt",
                     sortOrder: Literal["asc", "desc"] = "desc",
                     principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return _rag(request).collections(principal, repositoryId, page=page, page_size=pageSize, text=filter,
                                     status=status, sort_by=sortBy, sort_order=sortOrder)


@router.post("/repository/{repositoryId}/collection", response_model=CollectionView,
             responses=errors(404, 409, 502, 503))
def create_collection(repositoryId: str, config: CollectionConfig, request: Request,
                      principal: Principal = Depends(require_user)) -> dict[str, Any]:
    record = _rag(request).create_collection(principal, repositoryId, config)
    audit(request, principal, "collection.create", f"{repositoryId}/{record.collection_id}",
          embeddingModel=record.embedding_model)
    return record.wire()


@router.get("/repository/{repositoryId}/collection/{collectionId}", response_model=CollectionView,
            responses=errors(404, 503))
def get_collection(repositoryId: str, collectionId: str, request: Request,
                   principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return _rag(request).collection(principal, repositoryId, collectionId).wire()


@router.put("/repository/{repositoryId}/collection/{collectionId}", response_model=CollectionView,
            responses=errors(404, 409, 503))
def update_collection(repositoryId: str, collectionId: str, update: UpdateCollectionRequest, request: Request,
                      principal: Principal = Depends(require_user)) -> dict[str, Any]:
    record = _rag(request).update_collection(principal, repositoryId, collectionId, update)
    audit(request, principal, "collection.update", f"{repositoryId}/{collectionId}",
          changes=sorted(update.model_dump(exclude_unset=True)))
    return record.wire()


@router.delete("/repository/{repositoryId}/collection/{collectionId}", response_model=CollectionDeleted,
               responses=errors(404, 409, 503))
def delete_collection(repositoryId: str, collectionId: str, request: Request,
                      principal: Principal = Depends(require_user)) -> dict[str, Any]:
    result = _rag(request).delete_collection(principal, repositoryId, collectionId)
    audit(request, principal, "collection.delete", f"{repositoryId}/{collectionId}")
    return result


# ingest -----------------------------------------------------------------------------------------------------------
@router.post("/repository/{repositoryId}/bulk", response_model=IngestAccepted, responses=errors(404, 409, 502, 503))
async def ingest_uploads(repositoryId: str, request: Request, body: IngestRequest = Body(...),
                         collectionId: str | None = Query(None, max_length=128),
                         chunkSize: int | None = Query(None), chunkOverlap: int | None = Query(None),
                         principal: Principal = Depends(require_user)) -> dict[str, Any]:
    strategy = body.chunkingStrategy
    if strategy is None and chunkSize is not None:  # LISA's legacy query parameters
        strategy = _strategy(chunkSize, chunkOverlap)
    options = IngestOptions(collection_id=body.collectionId or collectionId, model=body.model_name, strategy=strategy,
                            metadata=body.metadata.model_dump(mode="json", by_alias=True) if body.metadata else {})
    collection, records = await run_in_threadpool(_rag(request).ingest_uploads, principal, repositoryId, body.keys,
                                                  options)
    return _accepted(collection, records)


def _strategy(size: int, overlap: int | None):
    from core.rag import FixedChunking

    try:
        return FixedChunking(size=size, overlap=overlap if overlap is not None else min(51, size // 2))
    except PydanticValidationError as exc:
        message = "; ".join(describe_validation_errors(exc.errors()))
        raise ValidationError(f"chunk {message}", param="chunkSize") from None


@router.post("/repository/{repositoryId}/document", response_model=IngestAccepted,
             responses=errors(404, 409, 415, 502, 503),
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"], "properties": {
                     "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                     "collectionId": {"type": "string"}, "embeddingModel": {"type": "string"},
                     "chunkSize": {"type": "integer"}, "chunkOverlap": {"type": "integer"},
                     "chunkingType": {"type": "string", "enum": ["fixed", "none"]},
                     "metadata": {"type": "string", "description": "JSON {tags, customFields}"}}}}}}})
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
        size = _int(_field(form, "chunkSize"), "chunkSize", None)
        if _field(form, "chunkingType") == "none":
            from core.rag import NoChunking

            strategy = NoChunking(type="none")
        else:
            strategy = _strategy(size, _int(_field(form, "chunkOverlap"), "chunkOverlap", None)) if size else None
        metadata = _field(form, "metadata")
        options = IngestOptions(collection_id=_field(form, "collectionId") or None,
                                model=_field(form, "embeddingModel") or None, strategy=strategy,
                                metadata=_metadata(metadata) if metadata else {})
        collection, records = await run_in_threadpool(service.ingest_files, principal, repositoryId, files, options)
    finally:
        await form.close()
    return _accepted(collection, records)


def _metadata(raw: str) -> dict[str, Any]:
    try:
        return RagMetadata.model_validate_json(raw).model_dump(mode="json", by_alias=True)
    except PydanticValidationError as exc:
        raise ValidationError("metadata: " + "; ".join(describe_validation_errors(exc.errors())),
                              param="metadata") from None


def _field(form, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


# documents --------------------------------------------------------------------------------------------------------
@router.get("/repository/{repositoryId}/document", response_model=DocumentPage, responses=errors(404, 503))
def list_documents(repositoryId: str, request: Request, collectionId: str | None = Query(None, max_length=128),
                   pageSize: int = Query(10, ge=1, le=100),
                   lastEvaluatedKeyPk: str | None = Query(None, max_length=512),
                   lastEvaluatedKeyDocumentId: str | None = Query(None, max_length=128),
                   lastEvaluatedKeyRepositoryId: str | None = Query(None, max_length=64),
                   principal: Principal = Depends(require_user)) -> dict[str, Any]:
    after = None
    if lastEvaluatedKeyPk or lastEvaluatedKeyDocumentId:
        if not (lastEvaluatedKeyPk and lastEvaluatedKeyDocumentId):
            raise InvalidInputError("send both lastEvaluatedKeyPk and lastEvaluatedKeyDocumentId from the last page")
        after = {"pk": lastEvaluatedKeyPk, "documentId": lastEvaluatedKeyDocumentId,
                 "repositoryId": lastEvaluatedKeyRepositoryId or repositoryId}
        if after["repositoryId"] != repositoryId or not after["pk"].startswith(f"{repositoryId}#"):
            raise InvalidInputError("the lastEvaluatedKey is not of this repository")
    return _rag(request).documents_page(principal, repositoryId, collectionId, pageSize, after)


@router.delete("/repository/{repositoryId}/document", response_model=DocumentsDeleted, responses=errors(404, 503))
async def delete_documents(repositoryId: str, request: Request, body: DeleteDocumentsRequest = Body(...),
                           collectionId: str | None = Query(None, max_length=128),
                           principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return await run_in_threadpool(_delete, request, principal, repositoryId, body.documentIds, collectionId)


def _delete(request: Request, principal: Principal, repository_id: str, document_ids: list[str],
            collection_id: str | None) -> dict[str, Any]:
    from services.rag.documents import IngestionStatus

    records, purged = _rag(request).delete_documents(principal, repository_id, document_ids, collection_id)
    if principal.is_rag_admin and any(r.username != principal.id for r in records):
        audit(request, principal, "document.delete", repository_id, documentIds=[r.document_id for r in records])
    jobs = [{**r.job(), "status": IngestionStatus.DELETE_COMPLETED.value} for r in records]
    return {"jobs": jobs, "documentIds": [r.document_id for r in records], "recordsPurged": purged}


@router.get("/repository/{repositoryId}/jobs", response_model=JobPage, responses=errors(404, 503))
def list_jobs(repositoryId: str, request: Request, timeLimit: int = Query(720, ge=1, le=24 * 365),
              pageSize: int = Query(10, ge=1, le=100), lastEvaluatedKey: str | None = Query(None, max_length=2048),
              principal: Principal = Depends(require_user)) -> dict[str, Any]:
    after = _json_key(lastEvaluatedKey, "lastEvaluatedKey")
    if after is not None and after.get("repositoryId") != repositoryId:
        raise InvalidInputError("the lastEvaluatedKey is not of this repository")
    return _rag(request).jobs_page(principal, repositoryId, timeLimit, pageSize, after)


# search -----------------------------------------------------------------------------------------------------------
# Search answers are serialised with orjson directly: FastAPI's encoder is the slowest part of the route otherwise.
# GET is the busiest read of the api: it takes the Request and validates its query string with one model (documented
# from that model), because FastAPI's per-parameter validation, dependency solving and sync threadpool cost ~0.7 ms a
# request on 2 cores, most of what the api added to a search (`make bench-rag`).
@search_router.get("/repository/{repositoryId}/similaritySearch", response_model=SearchResults, responses=errors(404, 409, 503),
            openapi_extra={"parameters": query_parameters(SearchQuery)})
async def similarity_search(repositoryId: str, request: Request) -> Response:
    principal = await require_user(request)  # first, as a dependency would be: a stranger learns nothing of the rules
    params = _parse_query(SearchQuery, request.query_params)
    top_k = _int(params.topK, "topK", DEFAULT_TOP_K)
    hits = await run_in_threadpool(
        _rag(request).search, principal, repositoryId, params.query, top_k, collection_id=params.collectionId,
        model=params.modelName, chunk_filter=_filter(params.filter), search_type=params.searchType)
    return _orjson(search_results(hits))


@router.post("/repository/{repositoryId}/similaritySearch", response_model=SearchResults,
             responses=errors(404, 409, 503))
async def similarity_search_post(repositoryId: str, request: Request, body: SearchRequest = Body(...),
                                 principal: Principal = Depends(require_user)) -> Response:
    hits = await run_in_threadpool(
        _rag(request).search, principal, repositoryId, body.query, body.topK, collection_id=body.collectionId,
        model=body.modelName, chunk_filter=body.filter.chunk_filter() if body.filter else None,
        search_type=body.searchType)
    return _orjson(search_results(hits))


# RAG chat ---------------------------------------------------------------------------------------------------------
@router.post("/repository/{repositoryId}/chat/completions", responses=errors(404, 409, 502, 503),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["model", "messages"], "properties": {
                     "model": {"type": "string"}, "messages": {"type": "array", "items": {"type": "object"}},
                     "topK": {"type": "integer"}, "collectionId": {"type": "string"},
                     "embeddingModel": {"type": "string"}, "stream": {"type": "boolean"}}}}}}})
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
    collection_id = body.pop("collectionId", None)
    if not isinstance(top_k, int) or isinstance(top_k, bool):
        raise ValidationError("topK must be an integer", param="topK")
    for name, value in (("embeddingModel", embedding_model), ("collectionId", collection_id)):
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{name} must be a string", param=name)
    check_request(CHAT, body)  # the body goes on to serve: only OpenAI's allow-listed fields, in range
    query = last_user_query(body["messages"])
    hits = await run_in_threadpool(lambda: service.search(principal, repositoryId, query, top_k,
                                                          collection_id=collection_id, model=embedding_model))
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
@router.get("/repository/{repositoryId}/{documentId}/download", response_model=str, responses=errors(404, 503))
def download_document(repositoryId: str, documentId: str, request: Request,
                      principal: Principal = Depends(require_user)) -> str:
    """LISA: a presigned GET URL of the original (a JSON string), valid 300 s."""
    return _rag(request).download_url(principal, repositoryId, documentId)


@router.get("/repository/{repositoryId}/{documentId}", response_model=RagDocument, responses=errors(404, 503))
def get_document(repositoryId: str, documentId: str, request: Request,
                 principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return _rag(request).document(principal, repositoryId, documentId).rag_document()


@router.delete("/repository/{repositoryId}/{documentId}", response_model=DocumentsDeleted, responses=errors(404, 503))
def delete_document(repositoryId: str, documentId: str, request: Request,
                    principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return _delete(request, principal, repositoryId, [documentId], None)
