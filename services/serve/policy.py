"""Every policy serve applies around an inference call, in one place: who is calling (refusals audited), whether its
rate limits admit the call, and what the call used (metered). The route handlers in app.py call these; nothing else
does, so each policy exists once for every endpoint and both backends.
"""

from __future__ import annotations

import logging
import time
from functools import partial

from core.config import RateLimit, RateLimitConfig
from core.errors import AuthenticationError, PermissionDeniedError
from core.platform import PlatformOutputs
from services.governance.audit import AuditEvent, AuditLog
from services.governance.rate_limits import Limiter, RateLimited, SharedBuckets, caller_keys
from services.governance.usage import UsageEvent, UsageMeter
from services.identity.authenticator import Authenticator
from services.identity.principal import Principal
from services.serve import metrics
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
    def __init__(self, platform: PlatformOutputs, authenticator: Authenticator, dynamo: AsyncDynamo, *,
                 usage_flush_s: float = 2.0) -> None:
        self.authenticator = authenticator
        self.rate_limits: RateLimitConfig = platform.rate_limits
        self.limiter = (Limiter(SharedBuckets(dynamo, platform.tables.rate_limits).lease)
                        if self.rate_limits.enabled else None)
        self.meter = UsageMeter(partial(dynamo.batch_write, platform.tables.usage), flush_s=usage_flush_s)
        self.audit = AuditLog(partial(dynamo.batch_write, platform.tables.audit))
        self._limits: dict[Principal, RateLimit] = {}

    def start(self) -> None:
        self.meter.start()
        self.audit.start()

    async def close(self) -> None:
        await self.meter.close()
        await self.audit.close()

    # who ---------------------------------------------------------------------------------------------------------
    async def caller(self, scope: dict, authorization: str | None, api_key: str | None) -> Principal:
        try:
            return await self.authenticator.authenticate_values(authorization, api_key)
        except (AuthenticationError, PermissionDeniedError) as exc:
            metrics.AUTH_REFUSED.labels(str(exc.status)).inc()
            self.audit.record(AuditEvent(
                action="auth.refused" if exc.status == 401 else "authz.refused", outcome="denied",
                target=f"{scope['method']} {scope['path']}", source_ip=source_ip(scope),
                details={"reason": exc.message[:200]}))
            raise

    # how often ---------------------------------------------------------------------------------------------------
    async def admit(self, principal: Principal, route: Route) -> None:
        """Spend the caller's (and the caller-and-model's) rate-limit tokens; 429 with a truthful Retry-After."""
        if self.limiter is None or (principal.is_admin and self.rate_limits.exempt_admins):
            return
        key = rate_limit_key(principal)
        limit = self._limits.get(principal)
        if limit is None:
            if len(self._limits) > 100_000:
                self._limits.clear()
            limit = self._limits[principal] = self.rate_limits.limit_for(
                caller_keys(token_id=principal.token_id, subject=principal.id if principal.method == "jwt" else None,
                            username=principal.username), principal.groups)
        try:
            await self.limiter.admit(key, limit)
        except RateLimited as refused:
            raise _too_many(refused, "caller") from None
        model_limit = self.rate_limits.models.get(route.name)
        if model_limit is not None:
            try:
                await self.limiter.admit(f"{key}|model:{route.name}", model_limit)
            except RateLimited as refused:
                self.limiter.refund(key)
                raise _too_many(refused, "model") from None

    # what it used ------------------------------------------------------------------------------------------------
    def meter_call(self, principal: Principal, route_name: str, endpoint: str, status: int, usage: Usage | None,
                   started: float, first_chunk_at: float | None) -> None:
        now = time.perf_counter()
        self.meter.record(UsageEvent(
            user_id=principal.id, username=principal.username, token_id=principal.token_id, groups=principal.groups,
            model=route_name, endpoint=endpoint, status=status,
            prompt_tokens=usage.prompt_tokens if usage else 0, completion_tokens=usage.completion_tokens if usage else 0,
            latency_ms=(now - started) * 1000,
            ttft_ms=(first_chunk_at - started) * 1000 if first_chunk_at is not None else None, at=time.time()))
        metrics.REQUESTS.labels(endpoint, str(status)).inc()
        metrics.LATENCY.labels(endpoint).observe(now - started)
        if first_chunk_at is not None:
            metrics.TTFT.labels(endpoint).observe(first_chunk_at - started)
        if status >= 500:
            metrics.UPSTREAM_ERRORS.labels(route_name, str(status)).inc()


def _too_many(refused: RateLimited, scope: str) -> OpenAIError:
    metrics.RATE_LIMITED.labels(scope).inc()
    wait = refused.retry_after_header
    what = "this model" if scope == "model" else "you"
    return OpenAIError(429, f"Rate limit exceeded for {what}: retry after {wait} s.", "rate_limit_error",
                       "rate_limit_exceeded", headers=[(b"retry-after", str(wait).encode())])
