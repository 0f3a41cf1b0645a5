/**
 * The schedule editor's state and what it sends (PUT /models/{id}/schedule, LISA v6's SchedulingConfig): DAILY with a
 * start/stop window per chosen weekday, or RECURRING with one window every day, in an IANA time zone. The api
 * validates (a window of 2 hours or more, a real zone); the form only shapes the payload.
 */
import type { Schemas } from "../api/wire";

export type SchedulingConfig = Schemas["SchedulingConfig"];
export type ScheduleView = Schemas["ScheduleView"];
export type NextTransition = Schemas["NextScheduledAction"];

export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface DayWindow {
  on: boolean;
  startTime: string;
  stopTime: string;
}

export interface ScheduleForm {
  scheduleType: "DAILY" | "RECURRING";
  timezone: string;
  daily: DayWindow; // RECURRING: every day
  days: Record<Weekday, DayWindow>;
}

const WORKDAY: DayWindow = { on: true, startTime: "08:00", stopTime: "18:00" };
const OFF: DayWindow = { on: false, startTime: "08:00", stopTime: "18:00" };

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The form for a model's current schedule, or a working week in `zone` when it has none. */
export function scheduleForm(current: ScheduleView | SchedulingConfig | null | undefined, zone = "UTC"): ScheduleForm {
  const days = Object.fromEntries(
    WEEKDAYS.map((d, i) => {
      const set = current?.weeklySchedule?.[d];
      if (set) return [d, { on: true, startTime: set.startTime, stopTime: set.stopTime }];
      return [d, current ? { ...OFF } : i < 5 ? { ...WORKDAY } : { ...OFF }];
    }),
  ) as Record<Weekday, DayWindow>;
  const daily = current?.dailySchedule ? { on: true, ...current.dailySchedule } : { ...WORKDAY };
  return { scheduleType: current?.scheduleType ?? "DAILY", timezone: current?.timezone ?? zone, daily, days };
}

export function schedulePayload(form: ScheduleForm): SchedulingConfig {
  const timezone = form.timezone.trim() || "UTC";
  if (form.scheduleType === "RECURRING") {
    return {
      scheduleType: "RECURRING",
      timezone,
      dailySchedule: { startTime: form.daily.startTime, stopTime: form.daily.stopTime },
    };
  }
  const weeklySchedule = Object.fromEntries(
    WEEKDAYS.filter((d) => form.days[d].on).map((d) => [
      d,
      { startTime: form.days[d].startTime, stopTime: form.days[d].stopTime },
    ]),
  );
  return { scheduleType: "DAILY", timezone, weeklySchedule };
}

/** "Mon 10 May, 17:00 (Europe/Berlin)": a transition's wall-clock time in the schedule's zone, as the api wrote it. */
export function describeTransition(t: NextTransition, timezone: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(t.scheduledTime);
  if (!match) return `${t.action} ${t.scheduledTime}`;
  const [, y, mo, d, h, mi] = match;
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  const weekday = day.toLocaleDateString("en-GB", { weekday: "short", timeZone: "UTC" });
  const date = day.toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
  return `${t.action === "START" ? "Start" : "Stop"} ${weekday} ${date}, ${h}:${mi} (${timezone})`;
}
