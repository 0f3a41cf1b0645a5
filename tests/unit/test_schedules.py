"""Model schedules (LISA v6 shapes): validation, the transitions due on a clock, and EventBridge's cron expressions."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pydantic
import pytest

from core.schedules import (
    ScheduleAction,
    SchedulingConfig,
    cron_schedules,
    next_action,
    next_transitions,
    should_run,
    transitions_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_17 = {"scheduleType": "DAILY", "timezone": "Europe/Berlin", "weeklySchedule": {
    day: {"startTime": "09:00", "stopTime": "17:00"} for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}}
NIGHTS = {"scheduleType": "RECURRING", "timezone": "UTC", "dailySchedule": {"startTime": "22:00", "stopTime": "02:00"}}


def config(raw: dict) -> SchedulingConfig:
    return SchedulingConfig.model_validate(raw)


def at(*parts: int, zone=BERLIN) -> datetime:
    return datetime(*parts, tzinfo=zone)


@pytest.mark.parametrize("raw, message", [
    ({"scheduleType": "RECURRING", "dailySchedule": {"startTime": "09:00", "stopTime": "10:30"}}, "at least 2 hours"),
    ({"scheduleType": "RECURRING", "dailySchedule": {"startTime": "25:00", "stopTime": "10:30"}}, "startTime"),
    ({"scheduleType": "DAILY", "weeklySchedule": {}}, "At least one day"),
    ({"scheduleType": "DAILY", "dailySchedule": {"startTime": "09:00", "stopTime": "17:00"}}, "weeklySchedule required"),
    ({**NIGHTS, "timezone": "Mars/Olympus"}, "Invalid timezone"),
])
def test_lisas_rules_refuse_a_bad_schedule(raw, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        config(raw)


def test_the_weekday_shape_is_also_read_under_daily_schedule():
    raw = {"scheduleType": "DAILY", "dailySchedule": {"monday": {"startTime": "09:00", "stopTime": "17:00"}}}
    assert config(raw).weekly_schedule.monday.start_time == "09:00"


def test_a_working_week_starts_and_stops_on_weekdays_only():
    found = transitions_between(config(WEEKDAYS_9_TO_17), at(2026, 5, 8, 12), at(2026, 5, 12, 12))  # Fri → Tue
    assert [(t.at.strftime("%a %H:%M"), t.action.value) for t in found] == [
        ("Fri 17:00", "STOP"), ("Mon 09:00", "START"), ("Mon 17:00", "STOP"), ("Tue 09:00", "START")]


def test_an_overnight_window_stops_the_next_day():
    found = next_transitions(config(NIGHTS), at(2026, 5, 8, 12, zone=timezone.utc), 3)
    assert [(t.at.isoformat(), t.action) for t in found] == [
        ("2026-05-08T22:00:00+00:00", ScheduleAction.START), ("2026-05-09T02:00:00+00:00", ScheduleAction.STOP),
        ("2026-05-09T22:00:00+00:00", ScheduleAction.START)]


def test_times_are_wall_clock_times_in_the_zone_across_a_dst_change():
    # Berlin moves to summer time on 2026-03-29: 09:00 local is 08:00 UTC before and 07:00 UTC after.
    found = transitions_between(config(WEEKDAYS_9_TO_17), at(2026, 3, 27, 12), at(2026, 3, 30, 10))
    starts = [t.at.astimezone(timezone.utc).strftime("%d %H:%M") for t in found if t.action is ScheduleAction.START]
    assert starts == ["30 07:00"]
    assert found[0].at.astimezone(timezone.utc).strftime("%d %H:%M") == "27 16:00"  # Friday's stop, winter time


def test_the_next_action_is_lisas_shape():
    action = next_action(config(WEEKDAYS_9_TO_17), at(2026, 5, 9, 12))  # a Saturday
    assert action.model_dump(by_alias=True) == {"action": "START", "scheduledTime": "2026-05-11T09:00:00+02:00"}


def test_should_run_only_inside_a_window():
    assert should_run(config(WEEKDAYS_9_TO_17), at(2026, 5, 11, 10))
    assert not should_run(config(WEEKDAYS_9_TO_17), at(2026, 5, 11, 18))
    assert should_run(config(NIGHTS), at(2026, 5, 11, 1, zone=timezone.utc))


def test_eventbridge_cron_groups_the_days_sharing_a_time():
    schedules = cron_schedules(config(WEEKDAYS_9_TO_17))
    assert [(s.expression, s.action.value) for s in schedules] == [
        ("cron(0 9 ? * MON,TUE,WED,THU,FRI *)", "START"), ("cron(0 17 ? * MON,TUE,WED,THU,FRI *)", "STOP")]


def test_eventbridge_cron_of_an_overnight_window_on_friday_stops_on_saturday():
    raw = {"scheduleType": "DAILY", "weeklySchedule": {"friday": {"startTime": "20:30", "stopTime": "01:15"}}}
    assert [s.expression for s in cron_schedules(config(raw))] == ["cron(30 20 ? * FRI *)", "cron(15 1 ? * SAT *)"]


def test_eventbridge_cron_of_a_recurring_window_fires_every_day():
    assert [s.expression for s in cron_schedules(config(NIGHTS))] == ["cron(0 22 * * ? *)", "cron(0 2 * * ? *)"]
