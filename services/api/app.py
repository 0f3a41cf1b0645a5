"""The api app (control plane): admin model management, and the routers other parts add (sessions, RAG, tokens).

Run: `uvicorn services.api.app:create_app --factory` with LISA_PLATFORM / LISA_PLATFORM_FILE set.
Errors are LISA's body `{"error": "<Type>", "message": "..."}`, mapped once here.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import aws
from core.errors import LisaError
from core.platform import PlatformOutputs, load_platform
from core.schema import describe_validation_errors
from services.api import (api_tokens, audit_log, chat_files, configuration, feedback, mcp_servers, model_schedules, models,
                          projects, prometheus, prompt_templates, repositories, sessions, tool_chat, usage,
                          user_preferences)
from services.api.audit_trail import audit, audit_log_for
from services.api.body_limit import BodyLimitMiddleware, BodyLimits
from services.api.engine import build_engine
from services.api.engine.repositories import RepositoryEngine
from services.api.engine.maintenance import Maintenance
from services.api.model_scheduler import ModelScheduler, uses_clock
from services.api.instance_catalog import InstanceCatalog
from services.api.settings import ApiSettings
from services.identity.authenticator import Authenticator

log = logging.getLogger("lisa.api")


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "message": message}, headers=headers)


async def _lisa_error(request: Request, exc: LisaError) -> JSONResponse:
    if exc.status in (401, 403):  # refusals go to the audit log (rate-limited there), never the credential
        principal = getattr(request.state, "principal", None)
        audit(request, principal, "auth.refused" if exc.status == 401 else "authz.refused",
              f"{request.method} {request.url.path}", outcome="denied", reason=exc.message[:200])
    return _error(exc.status, exc.error, exc.message)


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return _error(400, "InvalidInputError", "the request body is not valid JSON")
    # FastAPI prefixes locations with where the value came from ("body", "query", "path").
    problems = describe_validation_errors([{**e, "loc": tuple(e.get("loc", ()))[1:]} for e in errors])
    return _error(422, "ValidationError", "; ".join(p.removeprefix("(root): ") for p in problems))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    names = {404: "NotFoundError", 405: "MethodNotAllowedError"}
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # RFC 9110: `Allow` lists every method of the path (the router names one route's)
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return _error(exc.status_code, names.get(exc.status_code, "HTTPError"), str(exc.detail), headers or None)


def _allowed_methods(request: Request) -> list[str]:
    """The methods of the routes matching the path with the fewest parameters: OpenAPI matches concrete segments
    before templated ones (/repository/status is not /repository/{repositoryId}, /repository/x/bulk is not
    /repository/{repositoryId}/{documentId}), and so does the contract."""
    path = request.url.path
    matching = [route for route in iter_route_contexts(request.app.routes)
                if route.methods and route.path_regex.match(path)]
    fewest = min((len(route.param_convertors) for route in matching), default=0)
    return sorted({method for route in matching if len(route.param_convertors) == fewest for method in route.methods})


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return _error(500, "InternalError", "the server could not complete the request")


def body_limits() -> BodyLimits:
    """Per-route body limits (413 past them): whole sessions, uploaded documents, chat bodies; 1 MiB elsewhere."""
    from services.api.chat_files import ChatFileSettings
    from services.api.session_store import SessionSettings
    from services.api.user_preferences import MAX_BYTES as PREFERENCES_BYTES
    from services.rag.settings import RagSettings

    document = RagSettings().max_document_bytes
    sessions = SessionSettings()
    return BodyLimits(default=1 << 20, rules=(
        ("PUT", r"/session/[^/]+", sessions.max_bytes),
        ("PUT", r"/session/[^/]+/attachImage", sessions.max_image_bytes * 4 // 3 + (64 << 10)),  # base64 + JSON
        ("POST", r"/chat/attachments", ChatFileSettings().max_file_bytes + (1 << 20)),
        ("PUT", r"/user-preferences", PREFERENCES_BYTES),
        ("POST", r"/repository/[^/]+/document", document + (1 << 20)),  # multipart overhead and form fields
        ("POST", r"/repository/[^/]+/chat/completions", 32 << 20),  # a long conversation, as serve accepts
        ("POST", r"/mcp/chat/completions", 32 << 20),
    ))


def create_app(platform: PlatformOutputs | None = None, settings: ApiSettings | None = None) -> FastAPI:
    platform = platform or load_platform()
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.audit = audit_log_for(platform.tables.audit, refusals_per_minute=settings.audit_refusals_per_minute)
        app.state.audit.start()
        engine = build_engine(platform, settings)
        app.state.engine = engine
        # Repository stacks share the model stacks' workspace settings and provider host.
        app.state.repository_engine = RepositoryEngine(platform, engine.stacks, lambda: getattr(app.state, "rag", None))
        if settings.engine_resume_on_start:
            resumed = engine.resume()
            if resumed:
                log.info("resuming %d model deployment(s): %s", len(resumed), ", ".join(resumed))
        app.state.scheduler = ModelScheduler(engine, use_clock=uses_clock(settings.model_scheduler, aws.endpoint_url()),
                                             audit=lambda: getattr(app.state, "audit", None))
        maintenance = Maintenance(engine, sweep_s=settings.engine_sweep_s, drift_check_s=settings.engine_drift_check_s,
                                  scheduler=app.state.scheduler.tick, scheduler_tick_s=settings.model_scheduler_tick_s)
        if settings.engine_resume_on_start:
            maintenance.start()
        app.state.maintenance = maintenance
        try:
            yield
        finally:
            await maintenance.stop()
            engine.shutdown()
            await app.state.audit.close()

    docs = settings.api_docs
    app = FastAPI(title="LISA api", lifespan=lifespan, openapi_url="/openapi.json" if docs else None,
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None)
    app.state.platform = platform
    app.state.settings = settings
    app.state.authenticator = Authenticator.from_platform(platform)
    app.state.instances = InstanceCatalog()
    # Credentials travel in headers, never cookies, so any origin may call (the UI may be served elsewhere).
    app.add_middleware(BodyLimitMiddleware, limits=body_limits())
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                       allow_methods=["*"], allow_headers=["*"])
    app.add_middleware(prometheus.MetricsMiddleware)  # outermost: counts every answer, refusals included
    app.add_exception_handler(LisaError, _lisa_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:  # the load balancer asks often: no threadpool hop
        return {"status": "ok"}

    app.include_router(repositories.search_router)  # first: the busiest read (no other route matches its paths)
    app.include_router(models.router)
    app.include_router(model_schedules.router)
    app.include_router(sessions.router)
    app.include_router(repositories.router)
    app.include_router(api_tokens.router)
    app.include_router(mcp_servers.router)
    app.include_router(tool_chat.router)
    app.include_router(prompt_templates.router)
    app.include_router(projects.router)
    app.include_router(user_preferences.router)
    app.include_router(configuration.router)
    app.include_router(feedback.router)
    app.include_router(chat_files.router)
    app.include_router(usage.router)
    app.include_router(audit_log.router)
    app.include_router(prometheus.router)
    return app
