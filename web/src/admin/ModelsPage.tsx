import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { ModelRecord } from "../api/clients";
import { describeError } from "../api/errors";
import { gpuCapacityQuery, keys, modelEventsQuery, modelRecordsQuery, queryError } from "../app/queries";
import { useServices } from "../app/services";
import { ErrorBox, Modal } from "../ui/ConfirmDialog";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { DriftBadge, ModelDriftPanel } from "./ModelDriftPanel";
import { ModelEditForm } from "./ModelEditForm";
import { EcsModelForm, LiteLLMModelForm, ScaleForm } from "./ModelForms";
import { ModelScheduleEditor } from "./ModelScheduleEditor";
import { allowedActions, enabledPayload, isTransitional } from "./modelPayload";
import { EmptyRow } from "../ui/Table";

type Dialog =
  | { kind: "create"; hosting: "litellm" | "ecs" }
  | { kind: "scale" | "edit" | "events" | "drift" | "schedule"; model: ModelRecord }
  | null;

function capacity(model: ModelRecord): string {
  const a = model.autoScalingConfig;
  if (!a) return "—";
  return `${a.minCapacity} / ${a.desiredCapacity ?? a.minCapacity} / ${a.maxCapacity}`;
}

/** A model row's action button, named for the model it acts on. */
function RowAction(props: { label: string; name: string; onClick: () => void }) {
  return (
    <button type="button" className="small" onClick={props.onClick} aria-label={props.name}>
      {props.label}
    </button>
  );
}

export function ModelsPage() {
  const { api } = useServices();
  const client = useQueryClient();
  const query = useQuery(modelRecordsQuery(api));
  const capacityQuery = useQuery(gpuCapacityQuery(api));
  const gpus = capacityQuery.data;
  const models = query.data ?? [];
  const [actionError, setActionError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const error = actionError ?? queryError(query);

  // Settled changes alter what serve routes: refresh the chat picker too.
  const changing = models.some((m) => isTransitional(m.status));
  useEffect(() => {
    if (!changing) void client.invalidateQueries({ queryKey: keys.serveModels });
  }, [changing, client]);

  // The capacity's key is under the models' key: a change of any model refreshes it too.
  const reload = () => client.invalidateQueries({ queryKey: keys.modelRecords });

  async function act(model: ModelRecord, action: () => Promise<unknown>) {
    setActionError(null);
    try {
      await action();
    } catch (e) {
      setActionError(`${model.modelId}: ${describeError(e)}`);
    }
    await reload();
  }

  const close = () => setDialog(null);
  const afterChange = async () => {
    close();
    await reload();
  };

  return (
    <section className="page" aria-labelledby="models-title">
      <div className="row between wrap">
        <h1 id="models-title">Models</h1>
        <div className="row wrap">
          <button type="button" className="primary" onClick={() => setDialog({ kind: "create", hosting: "litellm" })}>
            Add LiteLLM-only model
          </button>
          <button type="button" onClick={() => setDialog({ kind: "create", hosting: "ecs" })}>
            Add ECS-hosted model
          </button>
        </div>
      </div>
      {gpus ? (
        <p className="muted" data-testid="gpu-capacity">
          GPU instances: {gpus.remaining} of {gpus.maxGpuInstances} remaining ({gpus.used} reserved by hosted models at
          their max capacity)
        </p>
      ) : null}
      <ErrorBox error={error} />
      <div className="table-wrap">
        <table aria-label="Models">
          <thead>
            <tr>
              <th scope="col">Model ID</th>
              <th scope="col">Model name</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Streaming</th>
              <th scope="col">Instance</th>
              <th scope="col" title="min / desired / max">
                Capacity
              </th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {query.isSuccess && !models.length ? <EmptyRow columns={8}>No models yet.</EmptyRow> : null}
            {models.map((m) => {
              const can = allowedActions(m);
              return (
                <tr key={m.modelId} data-testid="model-row" data-model-id={m.modelId}>
                  <td>
                    <strong>{m.modelId}</strong>
                  </td>
                  <td className="break">{m.modelName}</td>
                  <td>{m.modelType}</td>
                  <td>
                    <span className={`status status-${m.status}`} data-testid="model-status">
                      {m.status}
                    </span>
                    {m.containerConfig || m.drift ? (
                      <div>
                        <DriftBadge model={m} />
                      </div>
                    ) : null}
                    {m.statusReason && m.status === "Failed" ? (
                      <div className="error-text small-text">{m.statusReason}</div>
                    ) : null}
                  </td>
                  <td>{m.streaming ? "yes" : "no"}</td>
                  <td>{m.instanceType ?? "—"}</td>
                  <td>{capacity(m)}</td>
                  <td>
                    <div className="row wrap">
                      {can.stop ? (
                        <RowAction
                          label="Stop"
                          name={`Stop ${m.modelId}`}
                          onClick={() => void act(m, () => api.updateModel(m.modelId, enabledPayload(false)))}
                        />
                      ) : null}
                      {can.start ? (
                        <RowAction
                          label="Start"
                          name={`Start ${m.modelId}`}
                          onClick={() => void act(m, () => api.updateModel(m.modelId, enabledPayload(true)))}
                        />
                      ) : null}
                      {can.scale ? (
                        <RowAction
                          label="Scale"
                          name={`Scale ${m.modelId}`}
                          onClick={() => setDialog({ kind: "scale", model: m })}
                        />
                      ) : null}
                      {can.edit ? (
                        <RowAction
                          label="Edit"
                          name={`Edit ${m.modelId}`}
                          onClick={() => setDialog({ kind: "edit", model: m })}
                        />
                      ) : null}
                      {can.edit ? (
                        <RowAction
                          label="Drift"
                          name={`Drift of ${m.modelId}`}
                          onClick={() => setDialog({ kind: "drift", model: m })}
                        />
                      ) : null}
                      {m.containerConfig ? (
                        <RowAction
                          label="Schedule"
                          name={`Schedule of ${m.modelId}`}
                          onClick={() => setDialog({ kind: "schedule", model: m })}
                        />
                      ) : null}
                      <RowAction
                        label="Events"
                        name={`Events of ${m.modelId}`}
                        onClick={() => setDialog({ kind: "events", model: m })}
                      />
                      {can.remove ? (
                        <ConfirmDeleteButton
                          label={`Delete ${m.modelId}`}
                          title={`Delete ${m.modelId}?`}
                          confirmLabel="Delete model"
                          onConfirm={() => act(m, () => api.deleteModel(m.modelId))}
                        >
                          <p>Its infrastructure is destroyed and it stops being routable. This cannot be undone.</p>
                        </ConfirmDeleteButton>
                      ) : null}
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <Modal
        open={dialog?.kind === "create"}
        title={
          dialog?.kind === "create" && dialog.hosting === "ecs" ? "Add an ECS-hosted model" : "Add a LiteLLM-only model"
        }
        onClose={close}
        wide
      >
        {dialog?.kind === "create" && dialog.hosting === "ecs" ? (
          <EcsModelForm
            onCancel={close}
            onSubmit={async (payload) => (await api.createModel(payload), await afterChange())}
          />
        ) : (
          <LiteLLMModelForm
            onCancel={close}
            onSubmit={async (payload) => (await api.createModel(payload), await afterChange())}
          />
        )}
      </Modal>
      <Modal
        open={dialog?.kind === "scale"}
        title={`Scale ${dialog && "model" in dialog ? dialog.model.modelId : ""}`}
        onClose={close}
      >
        {dialog?.kind === "scale" ? (
          <ScaleForm
            model={dialog.model}
            onCancel={close}
            onSubmit={async (p) => (await api.updateModel(dialog.model.modelId, p), await afterChange())}
          />
        ) : null}
      </Modal>
      <Modal
        open={dialog?.kind === "edit"}
        title={`Edit ${dialog && "model" in dialog ? dialog.model.modelId : ""}`}
        onClose={close}
        wide
      >
        {dialog?.kind === "edit" ? <ModelEditForm model={dialog.model} onCancel={close} onSaved={afterChange} /> : null}
      </Modal>
      <Modal
        open={dialog?.kind === "drift"}
        title={`Drift: ${dialog && "model" in dialog ? dialog.model.modelId : ""}`}
        onClose={close}
        wide
      >
        {dialog?.kind === "drift" ? <ModelDriftPanel model={dialog.model} onReconciled={afterChange} /> : null}
      </Modal>
      <Modal
        open={dialog?.kind === "schedule"}
        title={`Schedule: ${dialog && "model" in dialog ? dialog.model.modelId : ""}`}
        onClose={close}
        wide
      >
        {dialog?.kind === "schedule" ? <ModelScheduleEditor model={dialog.model} onSaved={reload} /> : null}
      </Modal>
      <Modal
        open={dialog?.kind === "events"}
        title={`Deployment events: ${dialog && "model" in dialog ? dialog.model.modelId : ""}`}
        onClose={close}
        wide
      >
        {dialog?.kind === "events" ? <EventsList modelId={dialog.model.modelId} /> : null}
      </Modal>
    </section>
  );
}

function EventsList({ modelId }: { modelId: string }) {
  const { api } = useServices();
  const query = useQuery(modelEventsQuery(api, modelId));
  const events = query.data ?? [];
  const error = queryError(query);

  return (
    <div aria-live="polite">
      <ErrorBox error={error} />
      {!events.length && !error ? <p className="muted">No events recorded yet.</p> : null}
      <ol className="events" data-testid="model-events">
        {events.map((e, i) => (
          <li key={i}>
            {e.time != null ? (
              <time className="muted small-text">
                {typeof e.time === "number"
                  ? new Date(e.time * (e.time < 1e12 ? 1000 : 1)).toLocaleTimeString()
                  : e.time}
              </time>
            ) : null}{" "}
            {e.kind ? <span className="tag">{e.kind}</span> : null} <span className="break">{e.message}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}
