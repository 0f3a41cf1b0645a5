"""Usage rows and totals (services/governance/usage.py) and the audit log's rules (services/governance/audit.py)."""

from __future__ import annotations

import asyncio

from services.governance.audit import AuditEvent, AuditLog, safe_details
from services.governance.usage import UsageAggregator, UsageEvent, UsageMeter, days_between, minute_name, summarize

T0 = 1_764_000_000.0  # a fixed moment


def event(**overrides) -> UsageEvent:
    base = dict(user_id="u1", username="alice", token_id="t1", groups=("team-a",), model="chat",
                endpoint="chat/completions", status=200, prompt_tokens=3, completion_tokens=5, latency_ms=10.0,
                ttft_ms=4.0, at=T0)
    return UsageEvent(**{**base, **overrides})


def test_events_of_one_minute_fold_into_one_row():
    agg = UsageAggregator()
    for i in range(100):
        agg.add(event(at=T0 + i * 0.1, latency_ms=float(i)))
    rows = agg.drain("w", 1)
    assert len(rows) == 1 and rows[0]["requests"] == 100 and rows[0]["promptTokens"] == 300
    assert rows[0]["latencyMsMax"] == 99.0 and rows[0]["ttftCount"] == 100 and rows[0]["tokenId"] == "t1"
    assert len(agg) == 0


def test_rows_split_by_every_dimension():
    agg = UsageAggregator()
    for overrides in ({}, {"model": "other"}, {"status": 429}, {"user_id": "u2"}, {"at": T0 + 61}, {"token_id": None}):
        agg.add(event(**overrides))
    rows = agg.drain("w", 1)
    assert len(rows) == 6 and len({r["sk"] for r in rows}) == 6 and "tokenId" not in rows[-1]


def test_summary_totals_by_user_model_group_and_day():
    agg = UsageAggregator()
    agg.add(event())
    agg.add(event(user_id="u2", username="bob", groups=("team-a", "team-b"), model="other", status=500))
    summary = summarize(agg.drain("w", 1))
    assert summary["totals"]["requests"] == 2 and summary["totals"]["errors"] == 1
    assert summary["totals"]["totalTokens"] == 16
    assert {g["group"]: g["requests"] for g in summary["byGroup"]} == {"team-a": 2, "team-b": 1}
    assert [u["username"] for u in summary["byUser"]] == ["alice", "bob"]
    assert summary["byDay"][0]["requests"] == 2


def test_the_meter_keeps_rows_a_failed_write_left():
    written, fail = [], [True]

    async def write(rows):
        if fail[0]:
            raise ConnectionError
        written.extend(rows)

    async def go():
        meter = UsageMeter(write)
        meter.record(event())
        await meter.flush()
        fail[0] = False
        meter.record(event(model="later"))
        await meter.flush()
    asyncio.run(go())
    assert sorted(r["model"] for r in written) == ["chat", "later"]


def test_the_api_names_a_minute_as_rows_name_it():
    """The api's range bounds and the rows' sort keys must agree, or a range finds nothing."""
    at = 1_796_304_150.5  # 2026-12-03T13:22:30.5Z
    aggregator = UsageAggregator()
    aggregator.add(UsageEvent("u", "n", None, (), "m", "chat/completions", 200, 1, 1, 1.0, None, at))
    row, = aggregator.drain("w", 1)
    assert minute_name(at) == row["minute"] == "2026-12-03T13:22Z"
    assert minute_name(at - 60) < row["sk"] < minute_name(at) + "~"


def test_days_between():
    assert len(days_between(T0, T0 + 2 * 86400)) == 3


def test_no_secret_reaches_the_audit_log():
    clean = safe_details({"token": "lisa-abc", "apiKey": "sk-1", "password": "p", "Authorization": "Bearer x",
                          "tokenUUID": "u-1", "name": "laptop"})
    assert clean == {"tokenUUID": "u-1", "name": "laptop"}


def test_refusals_are_rate_limited_in_the_log_itself():
    written = []

    async def write(items):
        written.extend(items)

    async def go():
        log = AuditLog(write, refusals_per_minute=5)
        for _ in range(50):
            log.record(AuditEvent(action="auth.refused", outcome="denied", source_ip="10.0.0.1", at=T0))
        log.record(AuditEvent(action="model.create", outcome="success", actor_id="admin", at=T0))
        await log.close()
    asyncio.run(go())
    outcomes = [i["outcome"] for i in written]
    assert outcomes.count("denied") == 5 and outcomes.count("success") == 1
    assert [i["details"]["suppressed"] for i in written if i["outcome"] == "suppressed"] == [45]
