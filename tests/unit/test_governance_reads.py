"""The read side of governance: time ranges, usage timelines, audit paging and its opaque token (pure parts)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.errors import InvalidInputError
from services.api.audit_log import decode_cursor, encode_cursor
from services.api.time_range import MAX_DAYS, TimeRange, parse_instant, time_range
from services.api.usage import timeline_interval
from services.governance.audit import AuditFilter, read_page
from services.governance.usage import UsageSummary, days_between, minute_name

NOW = datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc).timestamp()


# Time ranges -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("2025-03-10", datetime(2025, 3, 10, tzinfo=timezone.utc)),
    ("2025-03-10T12:30:00Z", datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc)),
    ("2025-03-10T12:30:00", datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc)),  # no offset: UTC
    ("2025-03-10T14:30:00+02:00", datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc)),
    (str(int(NOW)), datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc)),
])
def test_an_instant_is_iso_8601_or_unix_seconds(text, expected):
    assert parse_instant(text, "start") == expected.timestamp()


@pytest.mark.parametrize("text", ["yesterday", "1e20", "-5", "nan", "inf", "0001-01-01T00:00:00+14:00", "2025-13-01"])
def test_anything_else_is_a_400_naming_the_parameter(text):
    with pytest.raises(InvalidInputError) as raised:
        parse_instant(text, "start")
    assert raised.value.param == "start" and raised.value.status == 400


def test_defaults_end_now_and_start_the_routes_span_before():
    assert time_range(None, None, default_days=7, now=NOW) == TimeRange(NOW - 7 * 86400, NOW)
    assert time_range("2025-03-01", None, default_days=7, now=NOW).start == datetime(2025, 3, 1, tzinfo=timezone.utc).timestamp()


def test_a_range_is_bounded_and_ordered():
    assert time_range("2024-03-10T12:30:00Z", "2025-03-10T12:30:00Z", default_days=7, now=NOW).days == 365
    with pytest.raises(InvalidInputError, match=f"at most {MAX_DAYS} days"):
        time_range("2024-01-01", "2025-03-10", default_days=7, now=NOW)
    with pytest.raises(InvalidInputError, match="before start"):
        time_range("2025-03-10", "2025-03-09", default_days=7, now=NOW)


def test_the_timeline_is_hourly_for_short_ranges_daily_beyond_and_hourly_only_up_to_a_month():
    day = 86400.0
    assert timeline_interval(None, TimeRange(NOW - day, NOW)) == "hour"
    assert timeline_interval(None, TimeRange(NOW - 7 * day, NOW)) == "day"
    assert timeline_interval("hour", TimeRange(NOW - 30 * day, NOW)) == "hour"
    with pytest.raises(InvalidInputError):
        timeline_interval("hour", TimeRange(NOW - 40 * day, NOW))


# Usage -----------------------------------------------------------------------------------------------------------
def _row(minute: str, user: str = "u1", model: str = "chat", status: int = 200, requests: int = 1, **extra) -> dict:
    return {"minute": minute, "userId": user, "username": user.upper(), "model": model, "status": status,
            "requests": requests, "promptTokens": 2 * requests, "completionTokens": 3 * requests,
            "latencyMsSum": 10.0 * requests, "ttftMsSum": 0, "ttftCount": 0, "groups": ["g"], **extra}


def test_the_timeline_buckets_rows_by_hour_model_and_user():
    summary = UsageSummary("hour")
    for row in (_row("2025-03-10T12:01Z"), _row("2025-03-10T12:59Z", requests=2), _row("2025-03-10T13:00Z"),
                _row("2025-03-10T12:30Z", model="other", status=500), _row("2025-03-10T12:30Z", user="u2")):
        summary.add(row)
    timeline = summary.result()["timeline"]
    assert [(p["time"], p["model"], p["userId"], p["requests"], p["errors"], p["totalTokens"]) for p in timeline] == [
        ("2025-03-10T12:00:00Z", "chat", "u1", 3, 0, 15),
        ("2025-03-10T12:00:00Z", "chat", "u2", 1, 0, 5),
        ("2025-03-10T12:00:00Z", "other", "u1", 1, 1, 5),
        ("2025-03-10T13:00:00Z", "chat", "u1", 1, 0, 5),
    ]
    assert {p["username"] for p in timeline} == {"U1", "U2"}


def test_a_daily_timeline_and_the_totals_agree():
    summary = UsageSummary("day")
    for row in (_row("2025-03-09T23:59Z"), _row("2025-03-10T00:00Z", requests=4)):
        summary.add(row)
    result = summary.result()
    assert [(p["time"], p["requests"]) for p in result["timeline"]] == [("2025-03-09T00:00:00Z", 1),
                                                                       ("2025-03-10T00:00:00Z", 4)]
    assert [(d["day"], d["requests"]) for d in result["byDay"]] == [("2025-03-09", 1), ("2025-03-10", 4)]
    assert result["totals"]["requests"] == 5 and result["totals"]["avgLatencyMs"] == 10.0
    assert result["totals"]["avgTtftMs"] is None


def test_rows_are_read_by_the_minute_names_their_keys_start_with():
    assert minute_name(NOW + 59) == "2025-03-10T12:30Z"
    assert days_between(NOW - 86400, NOW) == ["2025-03-09", "2025-03-10"]


# Audit paging ----------------------------------------------------------------------------------------------------
class FakeDays:
    """Days of audit items (newest first) answering `read_page`'s query as DynamoDB pages a filtered query: at most
    `limit` items read, those that pass the filter returned, and where reading stopped."""

    def __init__(self, days: dict[str, list[str]], keep=lambda sk: True) -> None:
        self.days = {day: sorted(sks, reverse=True) for day, sks in days.items()}
        self.keep = keep
        self.calls = 0

    def __call__(self, day: str, after: str | None, limit: int):
        self.calls += 1
        sks = [sk for sk in self.days.get(day, []) if after is None or sk < after]
        read = sks[:limit]
        last = read[-1] if len(sks) > limit else None
        return [{"sk": sk} for sk in read if self.keep(sk)], last


def _all_pages(query, days, page_size, **kw) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        items, cursor = read_page(query, days, page_size, cursor, **kw)
        pages.append([i["sk"] for i in items])
        if cursor is None:
            return pages
        cursor = decode_cursor(encode_cursor(cursor), days)  # as a client sends it back


DAYS = ["2025-03-10", "2025-03-09", "2025-03-08"]
ITEMS = {"2025-03-10": [f"2025-03-10T0{i}" for i in range(5)], "2025-03-08": [f"2025-03-08T0{i}" for i in range(3)]}


def test_pages_run_newest_first_across_days_without_gaps_or_repeats():
    pages = _all_pages(FakeDays(ITEMS), DAYS, 3, read_size=2)
    flat = [sk for page in pages for sk in page]
    assert flat == sorted([sk for day in ITEMS.values() for sk in day], reverse=True)
    assert [len(p) for p in pages] == [3, 3, 2]


def test_an_exactly_full_last_page_has_no_next_token():
    pages = _all_pages(FakeDays(ITEMS), DAYS, 8)
    assert [len(p) for p in pages] == [8]


def test_a_filtered_page_fills_from_later_reads():
    query = FakeDays(ITEMS, keep=lambda sk: sk.endswith(("0", "2")))
    pages = _all_pages(query, DAYS, 10, read_size=1)
    assert pages == [["2025-03-10T02", "2025-03-10T00", "2025-03-08T02", "2025-03-08T00"]]


def test_a_sparse_filter_answers_a_short_page_with_a_token_rather_than_read_forever():
    query = FakeDays(ITEMS, keep=lambda sk: sk == "2025-03-08T00")
    items, cursor = read_page(query, DAYS, 10, None, read_size=1, max_reads=3)
    assert items == [] and cursor is not None and query.calls == 3
    assert _all_pages(FakeDays(ITEMS, keep=lambda sk: sk == "2025-03-08T00"), DAYS, 10, read_size=1, max_reads=3)[-1] \
        == ["2025-03-08T00"]


@pytest.mark.parametrize("token", ["", "not base64!", encode_cursor(("2025-01-01", None)),
                                   encode_cursor(("2025-03-10", "2025-03-09T00")), "W10", "bnVsbA"])
def test_a_token_not_given_for_this_range_is_a_400(token):
    with pytest.raises(InvalidInputError) as raised:
        decode_cursor(token, DAYS)
    assert raised.value.param == "nextToken"


def test_filters_become_one_dynamodb_filter_expression():
    assert AuditFilter().expression() == (None, {}, {})
    expression, names, values = AuditFilter(actor="ann", action="token", outcome="denied").expression()
    assert expression == "(#ai = :actor OR #an = :actor) AND begins_with(#ac, :action) AND #oc = :outcome"
    assert names == {"#ai": "actorId", "#an": "actorName", "#ac": "action", "#oc": "outcome"}
    assert values == {":actor": "ann", ":action": "token", ":outcome": "denied"}
