import { describe, expect, it } from "vitest";
import type { UsagePoint } from "../api/governance";
import {
  bucketLabel,
  bucketStarts,
  compact,
  OTHER,
  OTHER_COLOR,
  PALETTE,
  rangeQuery,
  seriesColors,
  seriesNamer,
  timelineChart,
} from "./usageCharts";

function point(time: string, model: string, userId: string, requests: number, username = userId): UsagePoint {
  return {
    time,
    model,
    userId,
    username,
    requests,
    errors: 0,
    promptTokens: requests * 2,
    completionTokens: requests * 3,
    totalTokens: requests * 5,
  };
}

const H = (hour: number) => `2025-03-10T${String(hour).padStart(2, "0")}:00:00Z`;

describe("bucketStarts", () => {
  it("names every hour of the range as the api names its buckets", () => {
    expect(bucketStarts("2025-03-10T10:30:00Z", "2025-03-10T13:00:00Z", "hour")).toEqual([H(10), H(11), H(12), H(13)]);
  });

  it("names UTC days for a daily timeline", () => {
    expect(bucketStarts("2025-03-09T23:00:00Z", "2025-03-11T00:10:00Z", "day")).toEqual([
      "2025-03-09T00:00:00Z",
      "2025-03-10T00:00:00Z",
      "2025-03-11T00:00:00Z",
    ]);
  });
});

describe("timelineChart", () => {
  const report = {
    start: "2025-03-10T10:00:00Z",
    end: "2025-03-10T12:59:00Z",
    interval: "hour" as const,
    timeline: [point(H(10), "chat", "u1", 2), point(H(10), "embed", "u2", 1), point(H(12), "chat", "u2", 5)],
  };

  it("has a row for every bucket, quiet ones at zero, and a column per model", () => {
    const chart = timelineChart(report, "model", "requests");
    expect(chart.series).toEqual(["chat", "embed"]);
    expect(chart.rows).toEqual([
      { time: H(10), chat: 2, embed: 1 },
      { time: H(11), chat: 0, embed: 0 },
      { time: H(12), chat: 5, embed: 0 },
    ]);
  });

  it("splits by user and charts tokens", () => {
    const chart = timelineChart(report, "user", "totalTokens");
    expect(chart.series).toEqual(["u2", "u1"]); // biggest first
    expect(chart.rows.map((r) => [r.u1, r.u2])).toEqual([
      [10, 5],
      [0, 0],
      [0, 25],
    ]);
  });

  it("keeps the biggest series and sums the rest as Other", () => {
    const timeline = ["a", "b", "c", "d"].map((m, i) => point(H(10), m, "u1", 10 - i));
    const chart = timelineChart({ ...report, timeline }, "model", "requests", 3);
    expect(chart.series).toEqual(["a", "b", OTHER]);
    expect(chart.rows[0]).toEqual({ time: H(10), a: 10, b: 9, [OTHER]: 8 + 7 });
  });

  it("keeps the totals of the api's answer", () => {
    const chart = timelineChart(report, "model", "totalTokens");
    const charted = chart.rows.reduce((sum, row) => sum + chart.series.reduce((s, k) => s + (row[k] as number), 0), 0);
    expect(charted).toBe(report.timeline.reduce((sum, p) => sum + p.totalTokens, 0));
  });

  it("colours a series alike in the requests and the tokens chart", () => {
    const colors = seriesColors(report, "model");
    expect([colors.get("chat"), colors.get("embed"), colors.get(OTHER)]).toEqual([PALETTE[0], PALETTE[1], OTHER_COLOR]);
    expect(timelineChart(report, "model", "totalTokens").series.every((s) => colors.has(s))).toBe(true);
  });

  it("tells apart two users of one name", () => {
    const points = [
      point(H(10), "m", "id-1", 1, "sam"),
      point(H(10), "m", "id-2", 1, "sam"),
      point(H(10), "m", "x", 1),
    ];
    const name = seriesNamer(points, "user");
    expect(points.map(name)).toEqual(["sam (id-1)", "sam (id-2)", "x"]);
  });
});

describe("ranges and labels", () => {
  const now = Date.parse("2025-03-10T12:34:56.789Z");

  it("asks for hourly buckets for a day and daily ones beyond, starting on a bucket", () => {
    expect(rangeQuery("24h", now)).toEqual({
      start: "2025-03-09T12:00:00.000Z",
      end: "2025-03-10T12:34:00.000Z",
      interval: "hour",
    });
    expect(rangeQuery("7d", now)).toMatchObject({ start: "2025-03-03T00:00:00.000Z", interval: "day" });
    expect(rangeQuery("30d", now)).toMatchObject({ start: "2025-02-08T00:00:00.000Z", interval: "day" });
    const year = rangeQuery("365d", now);
    expect((Date.parse(year.end) - Date.parse(year.start)) / 86_400_000).toBeLessThanOrEqual(366);
  });

  it("labels hours and days", () => {
    expect(bucketLabel(H(13), "hour", "UTC")).toBe("Mar 10, 13:00");
    expect(bucketLabel("2025-03-10T00:00:00Z", "day")).toBe("Mar 10");
    expect(compact(1234)).toBe("1.2K");
  });
});
