"""Every policy serve applies around an inference call, in one place: who is calling (refusals audited), whether its
rate limits admit the call, and what the call used (metered). The route handlers in app.py call these; nothing else
does, so each policy exists once for every endpoint and both backends.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Awaitable

from core.config import RateLimit, RateLimitConfig
from core.errors import AuthenticationError, PermissionDeniedError
from core.platform import PlatformOutputs
from services.governance.audit import AuditEvent, AuditLog
from services.governance.rate_limits import Limiter, RateLimited, SharedBuckets, caller_keys
from services.governance.usage import UsageMeter
from services.identity.authenticator import Authenticator
from services.identity.principal import Principal
from services.serve.metrics import ServeMetrics
from services.serve.dynamo import AsyncDynamo
from services.serve.inference import Usage
from services.serve.openai_errors import OpenAIError
from services.serve.routing import Route

log = logging.getLogger("lisa.serve")


def source_ip(scope: dict) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":  # the ALB appends the client's address last
            return value.decode("latin-1").rsplit(",", 1)[-1].strip()[:64] or None
    client = scope.get("client")
    return client[0] if client else None


def rate_limit_key(principal: Principal) -> str:
    """The caller's bucket (LISA's key forms): its token, else its IdP subject, else its name."""
    if principal.token_id:
        return f"token:{principal.token_id}"
    if principal.method == "jwt":
        return f"oidc:{principal.id}"
    return f"user:{principal.username}"


class GatewayPolicy:
    def __init__(self, platform: PlatformOutputs, authenticator: Authenticator, dynamo: AsyncDynamo,
                 metrics: ServeMetrics, *, usage_flush_s: float = 2.0, rate_limit_slice_ttl_s: float = 2.0) -> None:
        self.authenticator = authenticator
        self.metrics = metrics
        self.rate_limits: RateLimitConfig = platform.rate_limits
        self.limiter = (Limiter(SharedBuckets(dynamo, platform.tables.rate_limits).lease,
                                slice_ttl_s=rate_limit_slice_ttl_s) if self.rate_limits.enabled else None)
        self.meter = UsageMeter(partial(dynamo.batch_write, platform.tables.usage), flush_s=usage_flush_s)
        self.audit = AuditLog(partial(dynamo.batch_write, platform.tables.audit))
        self._limits: dict[tuple[str, tuple[str, ...]], RateLimit] = {}

    def start(self) -> None:
        self.meter.start()
        self.audit.start()

    async def close(self) -> None:
        await self.meter.close()
        await self.audit.close()

    # who ---------------------------------------------------------------------------------------------------------
    def refused(self, scope: dict, exc: AuthenticationError | PermissionDeniedError) -> None:
        """Account for credentials serve refused: a metric and an audit event (rate-limited in the log)."""
        self.metrics.auth_refused[exc.status] += 1
        self.audit.record(AuditEvent(
            action="auth.refused" if exc.status == 401 else "authz.refused", outcome="denied",
            target=f"{scope['method']} {scope['path']}", source_ip=source_ip(scope),
            details={"reason": exc.message[:200]}))

    # how often ---------------------------------------------------------------------------------------------------
    def admit(self, principal: Principal, route: Route) -> Awaitable[None] | None:
        """Spend the caller's (and the caller-and-model's) rate-limit tokens. None: admitted at once (a slice was in
        hand, the common case, no await); else a coroutine that leases a slice or raises the 429 with a truthful
        Retry-After."""
        if self.limiter is None or (principal.is_admin and self.rate_limits.exempt_admins):
            return None
        key = rate_limit_key(principal)
        limit, model_limit = self._limits_of(key, principal, route)
        if self.limiter.take(key, limit):
            if model_limit is None or self.limiter.take(f"{key}|model:{route.name}", model_limit):
                return None
            self.limiter.refund(key)
        return self._admit_waiting(key, limit, route, model_limit)

    def _limits_of(self, key: str, principal: Principal, route: Route) -> tuple[RateLimit, RateLimit | None]:
        cached = (key, principal.groups)  # a tuple of strings hashes fast; the frozen Principal would not
        limit = self._limits.get(cached)
        if limit is None:
            if len(self._limits) > 100_000:
                self._limits.clear()
            limit = self._limits[cached] = self.rate_limits.limit_for(
                caller_keys(token_id=principal.token_id, subject=principal.id if principal.method == "jwt" else None,
                            username=principal.username), principal.groups)
        return limit, self.rate_limits.models.get(route.name)

    async def _admit_waiting(self, key: str, limit: RateLimit, route: Route, model_limit: RateLimit | None) -> None:
        try:
            await self.limiter.admit(key, limit)
        except RateLimited as refused:
            raise self._too_many(refused, "caller") from None
        if model_limit is not None:
            try:
                await self.limiter.admit(f"{key}|model:{route.name}", model_limit)
            except RateLimited as refused:
                self.limiter.refund(key)
                raise self._too_many(refused, "model") from None

    # what it used ------------------------------------------------------------------------------------------------
    def meter_call(self, principal: Principal, route_name: str, endpoint: str, status: int, usage: Usage | None,
                   started: float, first_chunk_at: float | None) -> None:
        now = time.perf_counter()
        latency = now - started
        ttft = first_chunk_at - started if first_chunk_at is not None else None
        self.meter.record_call(
            principal.id, principal.username, principal.token_id, principal.groups, route_name, endpoint, status,
            usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0, latency * 1000,
            ttft * 1000 if ttft is not None else None, time.time())
        self.metrics.observe_latency(endpoint, latency)
        if ttft is not None:
            self.metrics.observe_ttft(endpoint, ttft)
        if status >= 500:
            self.metrics.upstream_errors[(route_name, status)] += 1

    def _too_many(self, refused: RateLimited, scope: str) -> OpenAIError:
        self.metrics.rate_limited[scope] += 1
        wait = refused.retry_after_header
        what = "this model" if scope == "model" else "you"
        return OpenAIError(429, f"Rate limit exceeded for {what}: retry after {wait} s.", "rate_limit_error",
                           "rate_limit_exceeded", headers=[(b"retry-after", str(wait).encode())])
