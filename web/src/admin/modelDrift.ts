/**
 * A model's drift (GET /models/{id}/drift) as the admin page shows it: the badge in the models table (from the last
 * check listed with each model) and the diff, one row per resource, part and property.
 */
import type { DriftReport, ModelRecord } from "../api/clients";

export interface DriftBadge {
  label: string;
  tone: "ok" | "warn" | "unknown";
  title: string;
}

export interface DriftRow {
  resource: string;
  /** part.property, e.g. autoScalingGroup.desiredCapacity; the part alone when it is gone. */
  where: string;
  expected: string;
  actual: string;
}

function checkedAt(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString();
}

export function driftBadge(model: Pick<ModelRecord, "drift">): DriftBadge {
  const drift = model.drift;
  if (!drift) return { label: "not checked", tone: "unknown", title: "No drift check has run for this model yet" };
  const n = drift.differences ?? 0;
  if (!drift.drifted || n === 0)
    return { label: "in sync", tone: "ok", title: `Checked ${checkedAt(drift.checkedAt)}` };
  return { label: `drift: ${n}`, tone: "warn", title: `${n} difference(s) found ${checkedAt(drift.checkedAt)}` };
}

/** A value as one line: strings as they are, gone parts as "(missing)", the rest as compact JSON. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) return "(missing)";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

export function driftRows(report: DriftReport): DriftRow[] {
  return (report.resources ?? []).flatMap((r) =>
    (r.differences ?? []).map((d) => ({
      resource: r.resource,
      where: d.property ? `${d.part}.${d.property}` : d.part,
      expected: showValue(d.expected),
      actual: showValue(d.actual),
    })),
  );
}
