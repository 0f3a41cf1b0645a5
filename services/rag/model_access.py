"""Who may embed with which model: the api embeds with the platform's key, so before it does it checks that the
caller could use the embedding model themselves (the model's allowedGroups, as serve and GET /models apply them).
The groups are read from the model registry (and the stage's static models) and cached briefly: they change rarely
and every ingest and search asks."""

from __future__ import annotations

import threading
import time

from core.access import may_use
from core.errors import ModelNotFoundError, PermissionDeniedError
from core.platform import PlatformOutputs
from core.registry import ModelRegistry


class ModelAccess:
    def __init__(self, platform: PlatformOutputs, ttl_s: float = 5.0) -> None:
        self.registry = ModelRegistry(platform.tables.models)
        self.static = {m.model_name: list(m.lisa_params.allowed_groups) for m in platform.static_models}
        self.ttl_s = ttl_s
        self._groups: dict[str, tuple[float, list[str] | None]] = {}
        self._lock = threading.Lock()

    def allowed_groups(self, model_id: str) -> list[str] | None:
        """The model's groups (empty: everyone); None for a model the platform does not know (serve will say 404)."""
        if model_id in self.static:
            return self.static[model_id]
        with self._lock:
            cached = self._groups.get(model_id)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        try:
            groups: list[str] | None = list(self.registry.get(model_id).allowed_groups)
        except ModelNotFoundError:
            groups = None
        with self._lock:
            self._groups[model_id] = (time.monotonic(), groups)
        return groups

    def check(self, caller, model_id: str) -> None:
        groups = self.allowed_groups(model_id)
        if groups is not None and not may_use(caller.groups, groups, is_admin=caller.is_admin):
            raise PermissionDeniedError(f"you may not use the embedding model {model_id}", param="embeddingModel")
