/**
 * Usage figures shaped for the charts: the api's timeline (one point per bucket, model and user) pivoted into one row
 * per bucket with a column per model or per user, every bucket of the range present (a quiet hour is a zero, not a
 * gap), the biggest series kept and the rest summed as "Other".
 */
import type { UsageInterval, UsagePoint, UsageReport } from "../api/governance";

export type Metric = "requests" | "totalTokens";
export type SplitBy = "model" | "user";
export const OTHER = "Other";
export const MAX_SERIES = 8;

// Distinct in light and dark themes alike; "Other" is grey.
export const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];
export const OTHER_COLOR = "#9d9d9d";

export interface ChartRow {
  time: string;
  [series: string]: number | string;
}

export interface ChartData {
  rows: ChartRow[];
  /** Series names, biggest first ("Other" last when present). */
  series: string[];
}

const BUCKET_MS: Record<UsageInterval, number> = { hour: 3_600_000, day: 86_400_000 };

/** The start of the bucket `at` falls in (UTC hours and days, as the api buckets). */
export function bucketOf(at: number, interval: UsageInterval): number {
  return at - (at % BUCKET_MS[interval]);
}

/** Every bucket start from `start` to `end` (ISO), as the api names buckets ("2025-03-10T12:00:00Z"). */
export function bucketStarts(start: string, end: string, interval: UsageInterval, limit = 2000): string[] {
  const out: string[] = [];
  const last = Date.parse(end);
  for (let at = bucketOf(Date.parse(start), interval); at <= last && out.length < limit; at += BUCKET_MS[interval]) {
    out.push(new Date(at).toISOString().replace(".000Z", "Z"));
  }
  return out;
}

/** A series' name: the model, or the user's name (with the id when two users share a name). */
export function seriesNamer(points: UsagePoint[], splitBy: SplitBy): (p: UsagePoint) => string {
  if (splitBy === "model") return (p) => p.model;
  const idsByName = new Map<string, Set<string>>();
  for (const p of points) idsByName.set(p.username, (idsByName.get(p.username) ?? new Set()).add(p.userId));
  return (p) => ((idsByName.get(p.username)?.size ?? 0) > 1 ? `${p.username} (${p.userId})` : p.username);
}

/** One colour per series, the same in the requests and the tokens chart: by rank in requests, then round again. */
export function seriesColors(report: Pick<UsageReport, "timeline">, splitBy: SplitBy): Map<string, string> {
  const name = seriesNamer(report.timeline, splitBy);
  const requests = new Map<string, number>();
  for (const p of report.timeline) requests.set(name(p), (requests.get(name(p)) ?? 0) + p.requests);
  const ranked = [...requests.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const colors = new Map(ranked.map(([n], i) => [n, PALETTE[i % PALETTE.length]]));
  colors.set(OTHER, OTHER_COLOR);
  return colors;
}

export function timelineChart(
  report: Pick<UsageReport, "start" | "end" | "interval" | "timeline">,
  splitBy: SplitBy,
  metric: Metric,
  maxSeries = MAX_SERIES,
): ChartData {
  const name = seriesNamer(report.timeline, splitBy);
  const totals = new Map<string, number>();
  for (const p of report.timeline) totals.set(name(p), (totals.get(name(p)) ?? 0) + p[metric]);
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([n]) => n);
  const kept = ranked.length > maxSeries ? ranked.slice(0, maxSeries - 1) : ranked;
  const keptSet = new Set(kept);
  const series = ranked.length > kept.length ? [...kept, OTHER] : kept;

  const rows = new Map<string, ChartRow>();
  for (const time of bucketStarts(report.start, report.end, report.interval)) {
    rows.set(time, Object.fromEntries([["time", time], ...series.map((s) => [s, 0])]) as ChartRow);
  }
  for (const p of report.timeline) {
    const row = rows.get(p.time);
    if (!row) continue; // outside the range asked for: the api does not answer such points
    const key = keptSet.has(name(p)) ? name(p) : OTHER;
    row[key] = (row[key] as number) + p[metric];
  }
  return { rows: [...rows.values()], series };
}

/** A bucket's label on the time axis: the hour, or the day (in the viewer's time zone unless one is given). */
export function bucketLabel(time: string, interval: UsageInterval, timeZone?: string): string {
  const options: Intl.DateTimeFormatOptions =
    interval === "hour"
      ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }
      : { month: "short", day: "numeric", timeZone: timeZone ?? "UTC" }; // days are UTC days
  return new Intl.DateTimeFormat("en", options).format(new Date(time));
}

/** Large counts in few characters: 950, 1.2k, 3.4M. */
export function compact(value: number): string {
  return new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 }).format(value);
}

export type RangeName = "24h" | "7d" | "30d" | "90d" | "365d";
export const RANGES: { name: RangeName; label: string }[] = [
  { name: "24h", label: "Last 24 hours" },
  { name: "7d", label: "Last 7 days" },
  { name: "30d", label: "Last 30 days" },
  { name: "90d", label: "Last 90 days" },
  { name: "365d", label: "Last 365 days" },
];
const RANGE_HOURS: Record<RangeName, number> = { "24h": 24, "7d": 168, "30d": 720, "90d": 2160, "365d": 8760 };

/** The query for a named range ending `now`: hourly buckets for a day, daily beyond. */
export function rangeQuery(name: RangeName, now: number): { start: string; end: string; interval: UsageInterval } {
  const hours = RANGE_HOURS[name];
  const interval: UsageInterval = hours <= 24 ? "hour" : "day";
  // The start is a bucket start, so the first bucket is whole; the end is this minute (a key stable for a minute).
  const start = bucketOf(now - hours * 3_600_000, interval);
  const end = now - (now % 60_000);
  return { start: new Date(start).toISOString(), end: new Date(end).toISOString(), interval };
}
