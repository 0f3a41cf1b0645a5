"""RAG errors that core's general ones do not cover; each carries its HTTP status for the api's error handler."""

from __future__ import annotations

from core.errors import InvalidInputError, LisaError, UpstreamError


class DocumentTooLargeError(LisaError):
    status = 413
    error = "DocumentTooLargeError"


class UnsupportedDocumentError(LisaError):
    status = 415
    error = "UnsupportedDocumentError"


class UnreadableDocumentError(InvalidInputError):
    """Empty, corrupted, encrypted, or nothing to index once parsed."""

    error = "UnreadableDocumentError"


class EmbeddingModelError(InvalidInputError):
    """The embedding model is unknown, not an embedding model, or its dimension differs from the repository's."""

    error = "EmbeddingModelError"


class GatewayError(UpstreamError):
    """The serve gateway (or the store behind a repository) could not do what was asked; nothing the caller sent."""

    error = "GatewayError"


class StoreUnavailableError(LisaError):
    status = 503
    error = "StoreUnavailableError"


class ModelRefusedError(LisaError):
    """The serve gateway refused a chat request; its status (400, 401, 403, 404, 429…) is passed on."""

    error = "ModelError"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status if 400 <= status < 600 else 502
