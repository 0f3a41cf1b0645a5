"""Model schedules (LISA v6): start and stop a hosted model at set times in a time zone, so GPUs do not run all night.

Two shapes, as LISA's SchedulingConfig:
- `DAILY`: `weeklySchedule` with a start/stop window for any of the weekdays (the others: left as they are);
- `RECURRING`: one `dailySchedule` window, every day.
A window's stop is at least 2 hours after its start; a stop before the start falls on the next day (overnight).
Everything here is pure: the transitions due between two instants, the next one, and the cron expressions the
EventBridge schedules fire on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from core.schema import CamelModel

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CRON_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_HHMM = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"
MIN_WINDOW = timedelta(hours=2)


class ScheduleType(str, Enum):
    DAILY = "DAILY"
    RECURRING = "RECURRING"


class ScheduleAction(str, Enum):
    START = "START"
    STOP = "STOP"


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class DaySchedule(CamelModel):
    start_time: str = Field(pattern=_HHMM, description="HH:MM in the schedule's time zone")
    stop_time: str = Field(pattern=_HHMM)

    @model_validator(mode="after")
    def _window(self) -> DaySchedule:
        if self.duration < MIN_WINDOW:
            raise ValueError("Stop time must be at least 2 hours after start time")
        return self

    @property
    def start(self) -> time:
        return _clock(self.start_time)

    @property
    def stop(self) -> time:
        return _clock(self.stop_time)

    @property
    def overnight(self) -> bool:
        return self.stop <= self.start

    @property
    def duration(self) -> timedelta:
        today = date(2000, 1, 3)
        start, stop = datetime.combine(today, self.start), datetime.combine(today, self.stop)
        return stop - start + (timedelta(days=1) if self.overnight else timedelta())


class WeeklySchedule(CamelModel):
    monday: DaySchedule | None = None
    tuesday: DaySchedule | None = None
    wednesday: DaySchedule | None = None
    thursday: DaySchedule | None = None
    friday: DaySchedule | None = None
    saturday: DaySchedule | None = None
    sunday: DaySchedule | None = None

    @model_validator(mode="after")
    def _some_day(self) -> WeeklySchedule:
        if not any(getattr(self, day) for day in WEEKDAYS):
            raise ValueError("At least one day must have a schedule configured")
        return self


class NextScheduledAction(CamelModel):
    action: ScheduleAction
    scheduled_time: str = Field(description="ISO 8601 with the offset of the schedule's time zone")


class ScheduleFailure(CamelModel):
    timestamp: str
    error: str
    retry_count: int = 0


class SchedulingConfig(CamelModel):
    """What an admin sends (PUT /models/{id}/schedule) and what the model keeps in autoScalingConfig.scheduling."""

    schedule_type: ScheduleType
    timezone: str = "UTC"
    weekly_schedule: WeeklySchedule | None = None
    daily_schedule: DaySchedule | None = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        # Also read the shape as some of LISA's docs show it: DAILY with the weekdays under `dailySchedule`,
        # RECURRING with its window under `recurringSchedule`.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        daily = data.get("dailySchedule")
        if data.get("scheduleType") == "DAILY" and isinstance(daily, dict) and set(daily) & set(WEEKDAYS):
            data["weeklySchedule"] = data.pop("dailySchedule")
        if data.get("scheduleType") == "RECURRING" and "recurringSchedule" in data and "dailySchedule" not in data:
            data["dailySchedule"] = data.pop("recurringSchedule")
        return data

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"Invalid timezone: {value}, timezone must be a valid IANA timezone identifier") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SchedulingConfig:
        if self.schedule_type is ScheduleType.DAILY:
            if self.weekly_schedule is None:
                raise ValueError("weeklySchedule required for DAILY type")
            if self.daily_schedule is not None:
                raise ValueError("dailySchedule not allowed for DAILY type")
        else:
            if self.daily_schedule is None:
                raise ValueError("dailySchedule required for RECURRING type")
            if self.weekly_schedule is not None:
                raise ValueError("weeklySchedule not allowed for RECURRING type")
        return self

    def windows(self) -> dict[int, DaySchedule]:
        """weekday (0 = Monday) → the window starting that day."""
        if self.schedule_type is ScheduleType.RECURRING:
            return {day: self.daily_schedule for day in range(7)}
        return {i: getattr(self.weekly_schedule, day) for i, day in enumerate(WEEKDAYS)
                if getattr(self.weekly_schedule, day) is not None}


class ScheduleState(CamelModel):
    """What the model keeps about its schedule besides the configuration (LISA's tracking fields)."""

    last_schedule_update: str | None = None
    last_schedule_failure: ScheduleFailure | None = None
    last_scheduled_action: NextScheduledAction | None = Field(default=None, description=(
        "the last start or stop the schedule ran (scheduledTime: when it was due)"))


# Transitions ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Transition:
    at: datetime  # aware, in the schedule's zone
    action: ScheduleAction


def transitions_between(config: SchedulingConfig, after: datetime, until: datetime) -> list[Transition]:
    """Every start and stop in (after, until], in order. `after` and `until` are aware datetimes."""
    zone = ZoneInfo(config.timezone)
    first = after.astimezone(zone).date() - timedelta(days=1)  # yesterday's overnight window stops today
    last = until.astimezone(zone).date()
    found: list[Transition] = []
    windows = config.windows()
    day = first
    while day <= last:
        window = windows.get(day.weekday())
        if window is not None:
            start = datetime.combine(day, window.start, zone)
            stop_day = day + timedelta(days=1) if window.overnight else day
            stop = datetime.combine(stop_day, window.stop, zone)
            found += [Transition(start, ScheduleAction.START), Transition(stop, ScheduleAction.STOP)]
        day += timedelta(days=1)
    return sorted(t for t in found if after < t.at <= until)


def next_transitions(config: SchedulingConfig, now: datetime, count: int = 4) -> list[Transition]:
    """The next `count` transitions after `now` (within two weeks)."""
    return transitions_between(config, now, now + timedelta(days=15))[:count]


def next_action(config: SchedulingConfig, now: datetime) -> NextScheduledAction | None:
    upcoming = next_transitions(config, now, 1)
    if not upcoming:
        return None
    return NextScheduledAction(action=upcoming[0].action, scheduled_time=upcoming[0].at.isoformat())


def due(config: SchedulingConfig, after: datetime, until: datetime) -> Transition | None:
    """The transition to run for the time from `after` to `until`: the last one in it (earlier ones are overtaken;
    a pause longer than a week counts from a week ago)."""
    found = transitions_between(config, max(after, until - timedelta(days=7)), until)
    return found[-1] if found else None


def should_run(config: SchedulingConfig, now: datetime) -> bool:
    """Whether `now` falls inside a window (the model should be running)."""
    recent = transitions_between(config, now - timedelta(days=8), now)
    return bool(recent) and recent[-1].action is ScheduleAction.START


# EventBridge Scheduler ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CronSchedule:
    """One EventBridge schedule: a cron expression in the schedule's zone, firing one action."""

    suffix: str  # the schedule's name is <model's prefix>-<suffix>
    expression: str
    action: ScheduleAction


def cron_schedules(config: SchedulingConfig) -> list[CronSchedule]:
    """The EventBridge cron expressions of a schedule: one per action and time, days grouped (`cron(m h ? * MON,TUE *)`)."""
    if config.schedule_type is ScheduleType.RECURRING:
        window = config.daily_schedule
        return [CronSchedule("start", f"cron({window.start.minute} {window.start.hour} * * ? *)", ScheduleAction.START),
                CronSchedule("stop", f"cron({window.stop.minute} {window.stop.hour} * * ? *)", ScheduleAction.STOP)]
    by_time: dict[tuple[ScheduleAction, time], list[int]] = {}
    for day, window in config.windows().items():
        by_time.setdefault((ScheduleAction.START, window.start), []).append(day)
        by_time.setdefault((ScheduleAction.STOP, window.stop), []).append((day + 1) % 7 if window.overnight else day)
    schedules = []
    for n, ((action, at), days) in enumerate(sorted(by_time.items(), key=lambda kv: (kv[0][0].value, kv[0][1]))):
        names = ",".join(_CRON_DAYS[d] for d in sorted(set(days)))
        schedules.append(CronSchedule(f"{action.value.lower()}-{n}", f"cron({at.minute} {at.hour} ? * {names} *)",
                                      action))
    return schedules


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
