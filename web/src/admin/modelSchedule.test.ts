import { describe, expect, it } from "vitest";
import { describeTransition, scheduleForm, schedulePayload } from "./modelSchedule";

describe("schedule form", () => {
  it("starts as a working week in the given zone when the model has no schedule", () => {
    const form = scheduleForm(null, "Europe/Berlin");
    expect(schedulePayload(form)).toEqual({
      scheduleType: "DAILY",
      timezone: "Europe/Berlin",
      weeklySchedule: Object.fromEntries(
        ["monday", "tuesday", "wednesday", "thursday", "friday"].map((d) => [
          d,
          { startTime: "08:00", stopTime: "18:00" },
        ]),
      ),
    });
  });

  it("round-trips a DAILY schedule with only the days it has", () => {
    const current = {
      scheduleType: "DAILY" as const,
      timezone: "Asia/Tokyo",
      weeklySchedule: { friday: { startTime: "20:30", stopTime: "01:15" } },
    };
    expect(schedulePayload(scheduleForm(current))).toEqual(current);
  });

  it("sends one window for RECURRING", () => {
    const form = { ...scheduleForm(null), scheduleType: "RECURRING" as const };
    form.daily = { on: true, startTime: "22:00", stopTime: "02:00" };
    expect(schedulePayload(form)).toEqual({
      scheduleType: "RECURRING",
      timezone: "UTC",
      dailySchedule: { startTime: "22:00", stopTime: "02:00" },
    });
  });
});

describe("transitions", () => {
  it("are shown at the wall-clock time of the schedule's zone", () => {
    expect(describeTransition({ action: "STOP", scheduledTime: "2030-05-10T17:00:00+02:00" }, "Europe/Berlin")).toBe(
      "Stop Fri 10 May, 17:00 (Europe/Berlin)",
    );
  });
});
