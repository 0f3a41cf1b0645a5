/** The audit page's filters as typed, checked, and turned into the query of `GET /audit`. */
import type { AuditItem, AuditOutcome, AuditQuery } from "../api/governance";

export interface AuditFilters {
  actor: string;
  action: string;
  outcome: AuditOutcome | "";
  /** `<input type="datetime-local">` values (the viewer's local time), or "". */
  from: string;
  to: string;
}

export const NO_FILTERS: AuditFilters = { actor: "", action: "", outcome: "", from: "", to: "" };
export const PAGE_SIZE = 25;
export const MAX_RANGE_DAYS = 366;
export const OUTCOMES: AuditOutcome[] = ["success", "denied", "failed", "suppressed"];
/** Actions the platform records, and the prefixes that group them (the api matches an action by its start). */
export const KNOWN_ACTIONS = [
  "model",
  "model.create",
  "model.update",
  "model.delete",
  "token",
  "token.create",
  "token.revoke",
  "repository",
  "auth.refused",
  "authz.refused",
];

function instant(local: string): number | null {
  if (!local) return null;
  const at = new Date(local).getTime(); // a datetime-local value without an offset reads as local time
  return Number.isFinite(at) ? at : null;
}

/** What is wrong with the filters, one message each (empty: they can be sent). */
export function filterProblems(filters: AuditFilters): string[] {
  const problems: string[] = [];
  const from = instant(filters.from);
  const to = instant(filters.to);
  if (filters.from && from === null) problems.push("From is not a date and time.");
  if (filters.to && to === null) problems.push("To is not a date and time.");
  if (from !== null && to !== null) {
    if (to < from) problems.push("To is before From.");
    else if (to - from > MAX_RANGE_DAYS * 86_400_000)
      problems.push(`The range may span at most ${MAX_RANGE_DAYS} days.`);
  }
  return problems;
}

/** The query for one page: empty filters left out, local times sent as UTC. */
export function auditQuery(filters: AuditFilters, nextToken: string | null, pageSize = PAGE_SIZE): AuditQuery {
  const query: AuditQuery = { pageSize };
  const actor = filters.actor.trim();
  const action = filters.action.trim();
  if (actor) query.actor = actor;
  if (action) query.action = action;
  if (filters.outcome) query.outcome = filters.outcome;
  const from = instant(filters.from);
  const to = instant(filters.to);
  if (from !== null) query.start = new Date(from).toISOString();
  if (to !== null) query.end = new Date(to).toISOString();
  if (nextToken) query.nextToken = nextToken;
  return query;
}

/** Pages seen so far, as the tokens that open them (the first page has none): forward, back, or a fresh start. */
export interface PageTrail {
  tokens: (string | null)[];
}

export const FIRST_PAGE: PageTrail = { tokens: [null] };

export function currentToken(trail: PageTrail): string | null {
  return trail.tokens[trail.tokens.length - 1] ?? null;
}

export function nextPage(trail: PageTrail, nextToken: string): PageTrail {
  return { tokens: [...trail.tokens, nextToken] };
}

export function previousPage(trail: PageTrail): PageTrail {
  return trail.tokens.length > 1 ? { tokens: trail.tokens.slice(0, -1) } : trail;
}

/** An event's details as short `key: value` lines for the table. */
export function detailLines(details: AuditItem["details"] | undefined): string[] {
  return Object.entries(details ?? {}).map(([key, value]) => {
    const text = Array.isArray(value) ? value.join(", ") : value === null || value === undefined ? "—" : String(value);
    return `${key}: ${text}`;
  });
}
