/** Usage figures: everyone's for admins ("Usage"), one's own for anybody ("My usage"). */
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { UsageReport, UsageTotals } from "../api/governance";
import { queryError, usageQuery } from "../app/queries";
import { useServices } from "../app/services";
import { ErrorBox } from "../ui/ConfirmDialog";
import {
  bucketLabel,
  compact,
  RANGES,
  rangeQuery,
  seriesColors,
  timelineChart,
  type Metric,
  type RangeName,
  type SplitBy,
} from "./usageCharts";
import "./governance.css";

export function UsagePage() {
  return <UsageView scope="all" />;
}

export function MyUsagePage() {
  return <UsageView scope="mine" />;
}

function UsageView({ scope }: { scope: "all" | "mine" }) {
  const { api, user } = useServices();
  const [range, setRange] = useState<RangeName>("24h");
  // The end is left to the api (now), so each refresh includes the latest minutes.
  const [span, setSpan] = useState(() => rangeQuery("24h", Date.now()));
  const request = useMemo(
    () => ({ start: span.start, interval: span.interval, ...(scope === "mine" ? { userId: user.sub } : {}) }),
    [span, scope, user.sub],
  );

  function choose(name: RangeName) {
    setRange(name);
    setSpan(rangeQuery(name, Date.now()));
  }
  const query = useQuery(usageQuery(api, request));
  const report = query.data;
  const title = scope === "all" ? "Usage" : "My usage";

  return (
    <section className="page" aria-labelledby="usage-title" aria-busy={query.isFetching}>
      <div className="row between wrap">
        <h1 id="usage-title">{title}</h1>
        <div className="toolbar">
          <label>
            Range{" "}
            <select value={range} onChange={(e) => choose(e.target.value as RangeName)}>
              {RANGES.map((r) => (
                <option key={r.name} value={r.name}>
                  {r.label}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => void query.refetch()} disabled={query.isFetching}>
            Refresh
          </button>
        </div>
      </div>
      <p className="muted">
        {scope === "all"
          ? "Every inference request through serve, by model, user and group."
          : "Your inference requests through serve (in the chat and with your API tokens)."}
      </p>
      <ErrorBox error={queryError(query)} />
      {report ? <UsageFigures report={report} scope={scope} /> : null}
    </section>
  );
}

function UsageFigures({ report, scope }: { report: UsageReport; scope: "all" | "mine" }) {
  if (!report.totals.requests) {
    return (
      <div className="card muted" data-testid="usage-empty">
        No requests in this range.
      </div>
    );
  }
  const charts: { title: string; splitBy: SplitBy; metric: Metric }[] = [
    { title: "Requests by model", splitBy: "model", metric: "requests" },
    { title: "Tokens by model", splitBy: "model", metric: "totalTokens" },
    ...(scope === "all"
      ? [
          { title: "Requests by user", splitBy: "user" as const, metric: "requests" as const },
          { title: "Tokens by user", splitBy: "user" as const, metric: "totalTokens" as const },
        ]
      : []),
  ];
  return (
    <>
      <Totals totals={report.totals} />
      <div className="chart-grid">
        {charts.map((c) => (
          <TimelineChart key={c.title} report={report} {...c} />
        ))}
      </div>
      <Breakdown
        title="By model"
        rows={report.byModel.map((m) => ({ key: m.model, name: m.model, ...m }))}
        nameHeader="Model"
        testId="usage-by-model"
      />
      {scope === "all" ? (
        <>
          <Breakdown
            title="By user"
            rows={report.byUser.map((u) => ({ key: u.userId, name: u.username, ...u }))}
            nameHeader="User"
            testId="usage-by-user"
          />
          <Breakdown
            title="By group"
            rows={report.byGroup.map((g) => ({ key: g.group, name: g.group, ...g }))}
            nameHeader="Group"
            testId="usage-by-group"
          />
        </>
      ) : null}
    </>
  );
}

function milliseconds(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${Math.round(value).toLocaleString()} ms`;
}

function Totals({ totals }: { totals: UsageTotals }) {
  const stats = [
    { label: "Requests", value: totals.requests.toLocaleString(), id: "requests" },
    { label: "Errors", value: totals.errors.toLocaleString(), id: "errors" },
    { label: "Prompt tokens", value: totals.promptTokens.toLocaleString(), id: "prompt-tokens" },
    { label: "Completion tokens", value: totals.completionTokens.toLocaleString(), id: "completion-tokens" },
    { label: "Average latency", value: milliseconds(totals.avgLatencyMs), id: "latency" },
    { label: "Average time to first token", value: milliseconds(totals.avgTtftMs), id: "ttft" },
  ];
  return (
    <dl className="stats">
      {stats.map((s) => (
        <div key={s.id} className="stat" data-testid={`usage-total-${s.id}`}>
          <dt>{s.label}</dt>
          <dd>{s.value}</dd>
        </div>
      ))}
    </dl>
  );
}

function TimelineChart(props: { title: string; report: UsageReport; splitBy: SplitBy; metric: Metric }) {
  const { report, splitBy, metric } = props;
  const chart = useMemo(() => timelineChart(report, splitBy, metric), [report, splitBy, metric]);
  const colors = useMemo(() => seriesColors(report, splitBy), [report, splitBy]);
  const label = (time: unknown) => bucketLabel(String(time), report.interval);
  return (
    <figure className="card chart" aria-label={props.title} data-testid="usage-chart">
      <figcaption>{props.title}</figcaption>
      <ResponsiveContainer width="100%" height={240}>
        <BarChart data={chart.rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="var(--border)" />
          <XAxis dataKey="time" tickFormatter={label} minTickGap={32} tick={{ fill: "currentColor", fontSize: 12 }} />
          <YAxis
            tickFormatter={compact}
            width={44}
            allowDecimals={false}
            tick={{ fill: "currentColor", fontSize: 12 }}
          />
          <Tooltip
            labelFormatter={label}
            contentStyle={{ background: "var(--panel)", border: "1px solid var(--border)", color: "var(--text)" }}
          />
          <Legend />
          {chart.series.map((name) => (
            <Bar
              key={name}
              name={name}
              // A function, not the name: model names hold dots, which Recharts would read as a path.
              dataKey={(row: Record<string, number>) => row[name]}
              stackId="usage"
              fill={colors.get(name)}
              isAnimationActive={false}
            />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

interface BreakdownRow {
  key: string;
  name: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  avgLatencyMs?: number | null;
}

function Breakdown(props: { title: string; nameHeader: string; rows: BreakdownRow[]; testId: string }) {
  const rows = [...props.rows].sort((a, b) => b.requests - a.requests);
  return (
    <>
      <h2>{props.title}</h2>
      <div className="table-wrap">
        <table aria-label={props.title} data-testid={props.testId}>
          <thead>
            <tr>
              <th scope="col">{props.nameHeader}</th>
              <th scope="col" className="num">
                Requests
              </th>
              <th scope="col" className="num">
                Errors
              </th>
              <th scope="col" className="num">
                Prompt tokens
              </th>
              <th scope="col" className="num">
                Completion tokens
              </th>
              <th scope="col" className="num">
                Average latency
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key}>
                <td title={r.key}>{r.name}</td>
                <td className="num">{r.requests.toLocaleString()}</td>
                <td className="num">{r.errors.toLocaleString()}</td>
                <td className="num">{r.promptTokens.toLocaleString()}</td>
                <td className="num">{r.completionTokens.toLocaleString()}</td>
                <td className="num">{milliseconds(r.avgLatencyMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
