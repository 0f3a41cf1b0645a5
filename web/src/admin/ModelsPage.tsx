import { useCallback, useEffect, useState } from "react";
import { useServices } from "../app/services";
import type { ModelEvent } from "../api/clients";
import { describeError } from "../api/errors";
import { useModels } from "../chat/ModelsContext";
import { ConfirmDialog, ErrorBox, Modal } from "../ui/ConfirmDialog";
import { EcsModelForm, LiteLLMModelForm, MetadataForm, ScaleForm } from "./ModelForms";
import { allowedActions, enabledPayload, isTransitional, type ModelRecord } from "./modelPayload";

type Dialog =
  | { kind: "create"; hosting: "litellm" | "ecs" }
  | { kind: "scale" | "edit" | "events" | "delete"; model: ModelRecord }
  | null;

const FAST_POLL_MS = 2000;
const SLOW_POLL_MS = 10_000;

function capacity(model: ModelRecord): string {
  const a = model.autoScalingConfig;
  if (!a) return "—";
  return `${a.minCapacity} / ${a.desiredCapacity ?? a.minCapacity} / ${a.maxCapacity}`;
}

export function ModelsPage() {
  const { api } = useServices();
  const { refresh: refreshServeModels } = useModels();
  const [models, setModels] = useState<ModelRecord[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [busy, setBusy] = useState(false);

  const reload = useCallback(async () => {
    try {
      setModels(await api.listModels());
      setError(null);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setLoaded(true);
    }
  }, [api]);

  const changing = models.some((m) => isTransitional(m.status));
  useEffect(() => {
    void reload();
    const timer = window.setInterval(() => void reload(), changing ? FAST_POLL_MS : SLOW_POLL_MS);
    return () => window.clearInterval(timer);
  }, [reload, changing]);

  // Settled changes alter what serve routes: refresh the chat picker too.
  useEffect(() => {
    if (!changing) void refreshServeModels();
  }, [changing, refreshServeModels]);

  async function act(model: ModelRecord, action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(`${model.modelId}: ${describeError(e)}`);
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
            {loaded && !models.length ? (
              <tr>
                <td colSpan={8} className="muted">
                  No models yet.
                </td>
              </tr>
            ) : null}
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
                        <button
                          type="button"
                          className="small"
                          onClick={() => void act(m, () => api.updateModel(m.modelId, enabledPayload(false)))}
                          aria-label={`Stop ${m.modelId}`}
                        >
                          Stop
                        </button>
                      ) : null}
                      {can.start ? (
                        <button
                          type="button"
                          className="small"
                          onClick={() => void act(m, () => api.updateModel(m.modelId, enabledPayload(true)))}
                          aria-label={`Start ${m.modelId}`}
                        >
                          Start
                        </button>
                      ) : null}
                      {can.scale ? (
                        <button
                          type="button"
                          className="small"
                          onClick={() => setDialog({ kind: "scale", model: m })}
                          aria-label={`Scale ${m.modelId}`}
                        >
                          Scale
                        </button>
                      ) : null}
                      {can.edit ? (
                        <button
                          type="button"
                          className="small"
                          onClick={() => setDialog({ kind: "edit", model: m })}
                          aria-label={`Edit ${m.modelId}`}
                        >
                          Edit
                        </button>
                      ) : null}
                      <button
                        type="button"
                        className="small"
                        onClick={() => setDialog({ kind: "events", model: m })}
                        aria-label={`Events of ${m.modelId}`}
                      >
                        Events
                      </button>
                      {can.remove ? (
                        <button
                          type="button"
                          className="small danger"
                          onClick={() => setDialog({ kind: "delete", model: m })}
                          aria-label={`Delete ${m.modelId}`}
                        >
                          Delete
                        </button>
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
      >
        {dialog?.kind === "edit" ? (
          <MetadataForm
            model={dialog.model}
            onCancel={close}
            onSubmit={async (p) => (await api.updateModel(dialog.model.modelId, p), await afterChange())}
          />
        ) : null}
      </Modal>
      <Modal
        open={dialog?.kind === "events"}
        title={`Deployment events: ${dialog && "model" in dialog ? dialog.model.modelId : ""}`}
        onClose={close}
        wide
      >
        {dialog?.kind === "events" ? <EventsList modelId={dialog.model.modelId} /> : null}
      </Modal>
      <ConfirmDialog
        open={dialog?.kind === "delete"}
        title={`Delete ${dialog && "model" in dialog ? dialog.model.modelId : ""}?`}
        confirmLabel="Delete model"
        danger
        busy={busy}
        onCancel={close}
        onConfirm={async () => {
          if (dialog?.kind !== "delete") return;
          setBusy(true);
          await act(dialog.model, () => api.deleteModel(dialog.model.modelId));
          setBusy(false);
          close();
        }}
      >
        <p>Its infrastructure is destroyed and it stops being routable. This cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}

function EventsList({ modelId }: { modelId: string }) {
  const { api } = useServices();
  const [events, setEvents] = useState<ModelEvent[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    const load = () =>
      api
        .modelEvents(modelId)
        .then((list) => alive && (setEvents(list), setError(null)))
        .catch((e) => alive && setError(describeError(e)));
    void load();
    const timer = window.setInterval(load, FAST_POLL_MS);
    return () => {
      alive = false;
      window.clearInterval(timer);
    };
  }, [api, modelId]);

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
