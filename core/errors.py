"""Domain errors. Each HTTP surface maps them once, in its own exception handler.

`error` is the class name LISA's admin API puts in its error body; `status` is the HTTP status both surfaces use.
"""

from __future__ import annotations


class LisaError(Exception):
    status: int = 400
    error: str = "LisaError"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code  # a machine-readable reason where a surface has one (OpenAI's `code`)


class InvalidInputError(LisaError):
    status = 400
    error = "InvalidInputError"


class ValidationError(LisaError):
    """A payload that parses but breaks a field rule (LISA answers 422 for these)."""

    status = 422
    error = "ValidationError"

    def __init__(self, message: str, *, problems: list[str] | None = None, param: str | None = None) -> None:
        super().__init__(message, param=param)
        self.problems = problems or [message]


class NotFoundError(LisaError):
    status = 404
    error = "NotFoundError"


class ModelNotFoundError(NotFoundError):
    error = "ModelNotFoundError"

    def __init__(self, model_id: str) -> None:
        super().__init__(f"The requested model with ID {model_id} could not be found.", param="modelId")
        self.model_id = model_id


class ModelAlreadyExistsError(LisaError):
    status = 400
    error = "ModelAlreadyExistsError"

    def __init__(self, model_id: str) -> None:
        super().__init__(f"A model with ID {model_id} already exists.", param="modelId")
        self.model_id = model_id


class ConflictError(LisaError):
    """The resource exists but its state forbids the operation (e.g. starting a model that is Creating)."""

    status = 409
    error = "ConflictError"


class AuthenticationError(LisaError):
    status = 401
    error = "AuthenticationError"


class PermissionDeniedError(LisaError):
    status = 403
    error = "PermissionDeniedError"


class UpstreamError(LisaError):
    """A model server (or another upstream) refused, was unreachable or answered something unusable."""

    status = 502
    error = "UpstreamError"


class UpstreamTimeoutError(UpstreamError):
    status = 504
    error = "UpstreamTimeoutError"


class ConfigError(Exception):
    """An invalid stage configuration: one line per problem, each naming the field path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stage configuration:\n" + "\n".join(f"  - {p}" for p in problems))
