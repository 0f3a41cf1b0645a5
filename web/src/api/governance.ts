/** The api's governance reads: usage totals (`GET /metrics/usage`) and the audit log (`GET /audit`, admins). */
import type { HttpClient } from "./http";
import type { paths } from "./schema";
import type { AnswerOf } from "./wire";

export type UsageReport = AnswerOf<"/metrics/usage", "get">;
export type UsagePoint = UsageReport["timeline"][number];
export type UsageTotals = UsageReport["totals"];
export type UsageQuery = NonNullable<paths["/metrics/usage"]["get"]["parameters"]["query"]>;
export type UsageInterval = UsageReport["interval"];

export type AuditPage = AnswerOf<"/audit", "get">;
export type AuditItem = AuditPage["items"][number];
export type AuditQuery = NonNullable<paths["/audit"]["get"]["parameters"]["query"]>;
export type AuditOutcome = NonNullable<AuditQuery["outcome"]>;

export function fetchUsage(http: HttpClient, query: UsageQuery, signal?: AbortSignal): Promise<UsageReport> {
  return http.json("/metrics/usage", { query, signal });
}

export function fetchAudit(http: HttpClient, query: AuditQuery, signal?: AbortSignal): Promise<AuditPage> {
  return http.json("/audit", { query, signal });
}
