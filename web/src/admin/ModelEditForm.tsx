import { useState, type FormEvent } from "react";
import type { ModelPreview, ModelRecord, UpdateModelRequest } from "../api/clients";
import { useServices } from "../app/services";
import { ErrorBox } from "../ui/ConfirmDialog";
import { editForm, editPayload, previewRows, type EditForm } from "./modelEdit";
import { EnvironmentField, InferenceContainerSelect, Text, TypeAndStreaming, useAttempt } from "./ModelForms";
import { TableHead } from "../ui/Table";

type TextField = { [K in keyof EditForm]: EditForm[K] extends string ? K : never }[keyof EditForm];

function PreviewTable({ preview }: { preview: ModelPreview }) {
  const rows = previewRows(preview);
  if (!rows.length) return <p data-testid="edit-preview">The preview changes nothing in the model&apos;s stack.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Preview" data-testid="edit-preview">
        <TableHead columns={["Resource", "Step", "Property", "Now", "After"]} />
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} data-testid="preview-row">
              <td>{r.resource}</td>
              <td>{r.op}</td>
              <td className="break">{r.property}</td>
              <td className="break">{r.before}</td>
              <td className="break">{r.after}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Edit a model's LISA v6 updatable fields (PUT /models/{id}). Preview shows the Pulumi diff first (?dryRun=true); a
 * change that replaces the hosted model is sent only with "Allow replacement" ticked (?allowReplace=true).
 */
export function ModelEditForm(props: { model: ModelRecord; onSaved: () => Promise<void>; onCancel: () => void }) {
  const { api } = useServices();
  const { model } = props;
  const [form, setForm] = useState<EditForm>(() => editForm(model));
  const [preview, setPreview] = useState<ModelPreview | null>(null);
  const [allowReplace, setAllowReplace] = useState(false);
  const { error, problems, busy, attempt: run } = useAttempt();
  const set = (change: Partial<EditForm>) => {
    setForm((f) => ({ ...f, ...change }));
    setPreview(null);
  };

  const attempt = (action: (payload: UpdateModelRequest) => Promise<void>) =>
    run(() => action(editPayload(model, form)));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void attempt(async (payload) => {
      await api.updateModel(model.modelId, payload, allowReplace);
      await props.onSaved();
    });
  };
  const replaces = preview?.replaces ?? [];
  const text = (label: string, key: TextField, hint?: string) => (
    <Text label={label} value={form[key]} onChange={(v) => set({ [key]: v })} hint={hint} />
  );

  return (
    <form aria-label={`Edit ${model.modelId}`} onSubmit={submit}>
      <div className="grid2">
        <TypeAndStreaming form={form} set={set} />
      </div>
      <fieldset>
        <legend>Description</legend>
        <label>
          Description
          <textarea
            rows={2}
            value={form.modelDescription}
            onChange={(e) => set({ modelDescription: e.target.value })}
          />
        </label>
        <div className="grid2">
          {text("Context window (tokens)", "contextWindow")}
          {text("Allowed groups", "allowedGroups", "comma separated; empty: everyone")}
        </div>
        <label>
          Features (one &quot;name: overview&quot; per line)
          <textarea rows={2} value={form.features} onChange={(e) => set({ features: e.target.value })} />
        </label>
      </fieldset>
      {model.containerConfig ? (
        <>
          <fieldset>
            <legend>Container (rolled out as a new task definition)</legend>
            <div className="grid2">
              {text("Image", "baseImage", "e.g. a new tag of the inference server")}
              {text("Shared memory (MiB)", "sharedMemorySize")}
              {text("Health check command", "healthCheckCommand", "JSON list or one shell command")}
            </div>
            <EnvironmentField value={form.environment} onChange={(environment) => set({ environment })} />
          </fieldset>
          <fieldset>
            <legend>Autoscaling</legend>
            <div className="grid2">
              {text("Cooldown (s)", "cooldown")}
              {text("Instance warmup (s)", "defaultInstanceWarmup")}
            </div>
          </fieldset>
          <fieldset>
            <legend>Replaces the model</legend>
            <div className="grid2">
              {text("Instance type", "instanceType")}
              <InferenceContainerSelect
                value={form.inferenceContainer}
                onChange={(inferenceContainer) => set({ inferenceContainer })}
              />
            </div>
          </fieldset>
        </>
      ) : null}
      {preview ? <PreviewTable preview={preview} /> : null}
      {replaces.length ? (
        <div className="error-box" role="status" data-testid="replace-warning">
          <p>
            This change replaces the hosted model ({replaces.join(", ")}): its instances are destroyed and made again,
            so it serves nothing meanwhile.
          </p>
          <label className="row">
            <input type="checkbox" checked={allowReplace} onChange={(e) => setAllowReplace(e.target.checked)} />
            Allow replacement
          </label>
        </div>
      ) : null}
      <ErrorBox error={error} problems={problems} />
      <div className="row wrap">
        <button
          type="button"
          disabled={busy}
          onClick={() => void attempt(async (payload) => setPreview(await api.previewUpdate(model.modelId, payload)))}
        >
          Preview
        </button>
        <button type="submit" className="primary" disabled={busy}>
          Save
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
