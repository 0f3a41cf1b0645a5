"""Files in the conversation: a document's text for the chat's context, cut to fit the model's context window.

    POST /chat/attachments                         multipart `file` (txt, md, PDF, DOCX) + optional `model`
                                                   → DocumentText | 413 | 415 | 400 (unreadable)
    GET  /repository/{repositoryId}/{documentId}/text?model=   → DocumentText of a RAG document (for "Summarise")

The text comes from the RAG parsers (services/rag/parsing.py), PDF pages marked `[page n]`. It is cut to a share of
the model's `contextWindow` (the model record's, else LISA_CHAT_DEFAULT_CONTEXT_WINDOW) at ~4 characters a token,
and `notice` says so in words when it was. Images are not text: the chat sends them as OpenAI image parts and keeps
them with the session (`PUT /session/{id}/attachImage`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.concurrency import run_in_threadpool

from core import aws
from core.errors import NotFoundError
from core.registry import ModelRegistry
from services.api.app_state import shared
from services.api.contract import errors
from services.identity.dependencies import require_user
from services.identity.principal import Principal
from services.rag.errors import DocumentTooLargeError, StoreUnavailableError
from services.rag.parsing import Page, content_type, parse

router = APIRouter(tags=["chat files"])
READ_CHUNK = 1 << 20


class ChatFileSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_CHAT_")

    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="a larger attachment is refused")
    default_context_window: int = Field(default=8192, ge=256, description="tokens, for models that do not say")
    context_share: float = Field(default=0.5, gt=0, le=0.9, description="of the window a document may fill")
    chars_per_token: float = Field(default=4.0, gt=0, le=10)


class DocumentText(BaseModel):
    fileName: str
    contentType: str
    text: str
    chars: int
    totalChars: int
    pages: int | None = None
    truncated: bool
    contextWindow: int
    notice: str | None = Field(default=None, description="set when the text was cut to fit")


def page_text(pages: list[Page]) -> str:
    if len(pages) == 1 and pages[0].number is None:
        return pages[0].text
    return "\n\n".join(f"[page {p.number}]\n{p.text}" if p.number else p.text for p in pages)


def fitted(file_name: str, kind: str, pages: list[Page], context_window: int, model: str | None,
           settings: ChatFileSettings) -> dict[str, Any]:
    """The document's text within the budget of the context window, and a notice when it had to be cut (pure)."""
    text = page_text(pages)
    budget = int(context_window * settings.context_share * settings.chars_per_token)
    truncated = len(text) > budget
    notice = None
    if truncated:
        whose = f"{model}'s" if model else "the model's"
        notice = (f"{file_name} was cut to its first {budget:,} of {len(text):,} characters to fit {whose} context "
                  f"window of {context_window:,} tokens; the rest is not in the conversation.")
    numbered = [p for p in pages if p.number is not None]
    return {"fileName": file_name, "contentType": kind, "text": text[:budget], "chars": min(len(text), budget),
            "totalChars": len(text), "pages": len(numbered) or None, "truncated": truncated,
            "contextWindow": context_window, "notice": notice}


def _settings(request: Request) -> ChatFileSettings:
    return shared(request, "chat_file_settings", ChatFileSettings)


def context_window(request: Request, model: str | None, settings: ChatFileSettings) -> int:
    if model:
        try:
            record = ModelRegistry(request.app.state.platform.tables.models).get(model)
            if record.context_window:
                return record.context_window
        except NotFoundError:
            pass  # a static model, or one the caller named wrongly: the default window
    return settings.default_context_window


async def _read(upload: UploadFile, limit: int) -> bytes:
    data = bytearray()
    while chunk := await upload.read(READ_CHUNK):
        data += chunk
        if len(data) > limit:
            raise DocumentTooLargeError(f"{upload.filename} is larger than {limit} bytes")
    return bytes(data)


@router.post("/chat/attachments", response_model=DocumentText, responses=errors(413, 415))
async def attach_document(request: Request, file: UploadFile = File(...),
                          model: str | None = Form(default=None, max_length=256),
                          principal: Principal = Depends(require_user)):
    settings = _settings(request)
    name = (file.filename or "document").rsplit("/", 1)[-1][:255]
    kind = content_type(name)
    data = await _read(file, settings.max_file_bytes)
    pages = await run_in_threadpool(parse, data, name)
    window = await run_in_threadpool(context_window, request, model, settings)
    return fitted(name, kind, pages, window, model, settings)


@router.get("/repository/{repositoryId}/{documentId}/text", response_model=DocumentText,
            responses=errors(404, 503))
def repository_document_text(repositoryId: str, documentId: str, request: Request,
                             model: str | None = Query(default=None, max_length=256),
                             principal: Principal = Depends(require_user)):
    rag = getattr(request.app.state, "rag", None)
    if rag is None:
        raise StoreUnavailableError("RAG is not configured on this api: set LISA_RAG_SERVE_URL")
    settings = _settings(request)
    record = rag.document(principal, repositoryId, documentId)  # the caller's access to the repository is checked
    bucket, key = record.bucket_and_key
    obj = aws.client("s3").get_object(Bucket=bucket, Key=key)
    if obj.get("ContentLength", 0) > rag.settings.max_document_bytes:
        raise DocumentTooLargeError(f"{record.document_name} is larger than {rag.settings.max_document_bytes} bytes")
    data = obj["Body"].read(rag.settings.max_document_bytes + 1)
    pages = parse(data, record.document_name)
    return fitted(record.document_name, content_type(record.document_name), pages,
                  context_window(request, model, settings), model, settings)
