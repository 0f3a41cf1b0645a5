/** The audit log (admins): admin and security events, newest first, filtered and paged. */
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState, type FormEvent } from "react";
import type { AuditItem, AuditOutcome } from "../api/governance";
import { auditPageQuery, queryError } from "../app/queries";
import { useServices } from "../app/services";
import { ErrorBox } from "../ui/ConfirmDialog";
import {
  auditQuery,
  currentToken,
  detailLines,
  filterProblems,
  FIRST_PAGE,
  KNOWN_ACTIONS,
  nextPage,
  NO_FILTERS,
  OUTCOMES,
  previousPage,
  type AuditFilters,
} from "./auditFilters";
import "./governance.css";
import { EmptyRow, TableHead } from "../ui/Table";

export function AuditPage() {
  const { api } = useServices();
  const [draft, setDraft] = useState<AuditFilters>(NO_FILTERS);
  const [applied, setApplied] = useState<AuditFilters>(NO_FILTERS);
  const [trail, setTrail] = useState(FIRST_PAGE);
  const [problems, setProblems] = useState<string[]>([]);
  const request = useMemo(() => auditQuery(applied, currentToken(trail)), [applied, trail]);
  const query = useQuery(auditPageQuery(api, request));
  const page = query.data;
  const settled = !query.isPlaceholderData && !query.isFetching;
  const set = (change: Partial<AuditFilters>) => setDraft((d) => ({ ...d, ...change }));

  function apply(event: FormEvent) {
    event.preventDefault();
    const found = filterProblems(draft);
    setProblems(found);
    if (found.length) return;
    setApplied(draft);
    setTrail(FIRST_PAGE);
  }

  function clear() {
    setDraft(NO_FILTERS);
    setApplied(NO_FILTERS);
    setProblems([]);
    setTrail(FIRST_PAGE);
  }

  return (
    <section className="page" aria-labelledby="audit-title" aria-busy={query.isFetching}>
      <h1 id="audit-title">Audit</h1>
      <p className="muted">
        Admin and security events: model and token changes, refused sign-ins and refused requests. Newest first.
      </p>
      <form className="card" onSubmit={apply} aria-label="Filter the audit log">
        <div className="audit-filters">
          <label>
            Actor
            <input value={draft.actor} onChange={(e) => set({ actor: e.target.value })} placeholder="name or id" />
          </label>
          <label>
            Action
            <input
              value={draft.action}
              onChange={(e) => set({ action: e.target.value })}
              placeholder="e.g. token or model.create"
              list="audit-actions"
            />
            <datalist id="audit-actions">
              {KNOWN_ACTIONS.map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
          </label>
          <label>
            Outcome
            <select value={draft.outcome} onChange={(e) => set({ outcome: e.target.value as AuditOutcome | "" })}>
              <option value="">any</option>
              {OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <label>
            From
            <input type="datetime-local" value={draft.from} onChange={(e) => set({ from: e.target.value })} />
          </label>
          <label>
            To
            <input type="datetime-local" value={draft.to} onChange={(e) => set({ to: e.target.value })} />
          </label>
          <div className="row">
            <button type="submit" className="primary">
              Apply
            </button>
            <button type="button" onClick={clear}>
              Clear
            </button>
          </div>
        </div>
        <ErrorBox error={problems[0] ?? null} problems={problems} />
      </form>
      <ErrorBox error={queryError(query)} />

      <div className="table-wrap">
        <table aria-label="Audit events" data-testid="audit-table">
          <TableHead columns={["Time", "Action", "Outcome", "Actor", "Target", "Source", "Details"]} />
          <tbody>
            {page && !page.items.length ? (
              <EmptyRow columns={7}>
                {page.nextToken ? "No events on this page; older pages may hold some." : "No events."}
              </EmptyRow>
            ) : null}
            {page?.items.map((e) => (
              <AuditRow key={e.id} event={e} />
            ))}
          </tbody>
        </table>
      </div>
      <nav className="row end" aria-label="Audit pages">
        <span className="muted" data-testid="audit-page-number">
          Page {trail.tokens.length}
        </span>
        <button type="button" disabled={!settled || trail.tokens.length < 2} onClick={() => setTrail(previousPage)}>
          Newer
        </button>
        <button
          type="button"
          disabled={!settled || !page?.nextToken}
          onClick={() => page?.nextToken && setTrail((t) => nextPage(t, page.nextToken as string))}
        >
          Older
        </button>
      </nav>
    </section>
  );
}

function AuditRow({ event }: { event: AuditItem }) {
  const details = detailLines(event.details);
  return (
    <tr data-testid="audit-row" data-action={event.action} data-event-id={event.id}>
      <td>
        <time dateTime={event.time}>{new Date(event.time).toLocaleString()}</time>
      </td>
      <td>
        <code>{event.action}</code>
      </td>
      <td className={`outcome-${event.outcome}`}>{event.outcome}</td>
      <td title={event.actorId ?? undefined}>{event.actorName ?? event.actorId ?? <span className="muted">—</span>}</td>
      <td className="break">{event.target ?? <span className="muted">—</span>}</td>
      <td>{event.sourceIp ?? <span className="muted">—</span>}</td>
      <td>
        {details.length ? (
          <ul className="audit-details">
            {details.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        ) : null}
      </td>
    </tr>
  );
}
