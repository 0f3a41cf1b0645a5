"""`GET /metrics/usage`: what serve metered (services/governance/usage.py), totalled over a time range.

Admins read everyone's figures (the usage table's day partitions in the range) or one user's (`userId`); anyone else
reads only their own (the `byUser` index). The answer has totals overall and by user, model, group and day, and a
timeline of requests and tokens per (hour or day, model, user) for charts.
"""

from __future__ import annotations

import asyncio
import time
from typing import Iterator, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from core.dynamo import Table
from core.errors import InvalidInputError, PermissionDeniedError
from core.schema import CamelModel
from services.api.contract import errors
from services.api.time_range import TimeRange, time_range
from services.governance.usage import USER_INDEX, UsageSummary, days_between, minute_name
from services.identity.dependencies import require_user
from services.identity.principal import Principal

router = APIRouter(tags=["metrics"])

DEFAULT_DAYS = 7
HOURLY_MAX_DAYS = 31  # an hourly timeline of a longer range is too many points to chart
AUTO_HOURLY_DAYS = 2  # without `interval`: hourly up to this span, daily beyond
_FIELDS = ("userId", "username", "groups", "model", "minute", "status", "requests", "promptTokens",
           "completionTokens", "latencyMsSum", "ttftMsSum", "ttftCount")
Interval = Literal["hour", "day"]


class UsageCounts(CamelModel):
    requests: int
    errors: int = Field(description="requests answered with a status of 400 or more")
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class UsageTotals(UsageCounts):
    avg_latency_ms: float | None = Field(description="mean time to the whole answer")
    avg_ttft_ms: float | None = Field(description="streams: mean time to the first chunk")


class UserUsage(UsageTotals):
    user_id: str
    username: str


class ModelUsage(UsageTotals):
    model: str


class GroupUsage(UsageTotals):
    group: str = Field(description='a caller group; "(none)" for callers without one')


class DayUsage(UsageTotals):
    day: str = Field(description="YYYY-MM-DD (UTC)")


class UsagePoint(UsageCounts):
    time: str = Field(description="start of the hour or day (ISO 8601, UTC)")
    model: str
    user_id: str
    username: str


class UsageReport(CamelModel):
    start: str
    end: str
    interval: Interval = Field(description="the timeline's bucket")
    user_id: str | None = Field(description="whose figures these are; null: everyone's")
    totals: UsageTotals
    by_user: list[UserUsage]
    by_model: list[ModelUsage]
    by_group: list[GroupUsage]
    by_day: list[DayUsage]
    timeline: list[UsagePoint]


def timeline_interval(requested: Interval | None, span: TimeRange) -> Interval:
    if requested == "hour" and span.days > HOURLY_MAX_DAYS:
        raise InvalidInputError(f"interval: hourly only for ranges up to {HOURLY_MAX_DAYS} days", param="interval")
    if requested:
        return requested
    return "hour" if span.days <= AUTO_HOURLY_DAYS else "day"


def _rows(table: Table, span: TimeRange, user_id: str | None) -> Iterator[dict]:
    bounds = {":a": minute_name(span.start), ":b": minute_name(span.end) + "~"}  # "~" sorts after "#<writer>…"
    if user_id is not None:
        yield from table.query("userId = :u AND sk BETWEEN :a AND :b", values={":u": user_id, **bounds},
                               index=USER_INDEX, projection=_FIELDS)
        return
    for day in days_between(span.start, span.end):
        yield from table.query("pk = :d AND sk BETWEEN :a AND :b", values={":d": f"day#{day}", **bounds},
                               projection=_FIELDS)


def usage_report(table_name: str, span: TimeRange, interval: Interval, user_id: str | None) -> UsageReport:
    summary = UsageSummary(interval)
    for row in _rows(Table(table_name), span, user_id):
        summary.add(row)
    return UsageReport(start=span.iso(span.start), end=span.iso(span.end), interval=interval, user_id=user_id,
                       **summary.result())


@router.get("/metrics/usage", response_model=UsageReport, responses=errors())
async def get_usage(
    request: Request,
    start: str | None = Query(default=None, max_length=64, description=f"ISO 8601 or unix seconds; default: end "
                              f"minus {DEFAULT_DAYS} days"),
    end: str | None = Query(default=None, max_length=64, description="ISO 8601 or unix seconds; default: now"),
    interval: Interval | None = Query(default=None, description=f"the timeline's bucket; default: hour for ranges "
                                      f"up to {AUTO_HOURLY_DAYS} days, else day"),
    user_id: str | None = Query(default=None, alias="userId", min_length=1, max_length=256,
                                description="admins: one user's figures; others: only their own id"),
    principal: Principal = Depends(require_user),
) -> UsageReport:
    span = time_range(start, end, default_days=DEFAULT_DAYS, now=time.time())
    bucket = timeline_interval(interval, span)
    if not principal.is_admin:
        if user_id not in (None, principal.id):
            raise PermissionDeniedError("only admins may read another user's usage")
        user_id = principal.id
    return await asyncio.to_thread(usage_report, request.app.state.platform.tables.usage, span, bucket, user_id)
