import { useState } from "react";
import type { DriftReport, ModelRecord } from "../api/clients";
import { ErrorBox } from "../ui/ConfirmDialog";
import { useAction } from "../ui/useAction";
import { useServices } from "../app/services";
import { driftBadge, driftRows } from "./modelDrift";
import { TableHead } from "../ui/Table";

/** The drift badge of a model row: the last check's outcome (its title says when). */
export function DriftBadge({ model }: { model: ModelRecord }) {
  const badge = driftBadge(model);
  return (
    <span className={`tag drift-${badge.tone}`} title={badge.title} data-testid="drift-badge">
      {badge.label}
    </span>
  );
}

/** Check a model's drift (a refresh in preview mode), show the diff, and reconcile it (put it back as declared). */
export function ModelDriftPanel(props: { model: ModelRecord; onReconciled: () => Promise<void> }) {
  const { api } = useServices();
  const { model } = props;
  const [report, setReport] = useState<DriftReport | null>(null);
  const { busy, error, run } = useAction();
  const rows = report ? driftRows(report) : [];

  return (
    <div aria-live="polite">
      <p className="muted">
        A check refreshes the model&apos;s stack in preview mode: every part is read from AWS and compared with what the
        model declares. Nothing is changed.
      </p>
      <div className="row wrap">
        <button
          type="button"
          className="primary"
          disabled={busy}
          onClick={() => void run(async () => setReport(await api.checkDrift(model.modelId)), "Drift check")}
        >
          {busy ? "Checking…" : "Check drift"}
        </button>
        {report?.drifted ? (
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void run(async () => {
                await api.reconcileModel(model.modelId);
                await props.onReconciled();
              }, "Reconcile")
            }
          >
            Reconcile
          </button>
        ) : null}
      </div>
      <ErrorBox error={error} />
      {report && !report.drifted ? (
        <p data-testid="drift-result">No drift: every part matches its declaration.</p>
      ) : null}
      {rows.length ? (
        <div className="table-wrap">
          <table aria-label="Drift" data-testid="drift-result">
            <TableHead columns={["Resource", "Property", "Declared", "In AWS"]} />
            <tbody>
              {rows.map((r, i) => (
                <tr key={i} data-testid="drift-row">
                  <td>{r.resource}</td>
                  <td className="break">{r.where}</td>
                  <td className="break">{r.expected}</td>
                  <td className="break">{r.actual}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
