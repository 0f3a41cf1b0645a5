import { useState, type FormEvent, type ReactNode } from "react";
import type { ModelRecord } from "../api/clients";
import { ApiError, describeError } from "../api/errors";
import { ErrorBox } from "../ui/ConfirmDialog";
import {
  DEFAULT_ECS_FORM,
  DEFAULT_LITELLM_FORM,
  ecsPayload,
  FormProblem,
  liteLLMPayload,
  scalePayload,
  type EcsForm,
  type LiteLLMForm,
} from "./modelPayload";

type Submit = (payload: Record<string, unknown>) => Promise<void>;

/** Runs a model form's action and keeps the form's own problem or the API's message (and its list of problems) to
 * show in the form. */
export function useAttempt() {
  const [error, setError] = useState<string | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  async function attempt(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    setProblems([]);
    try {
      await action();
    } catch (e) {
      setError(e instanceof FormProblem ? e.message : describeError(e));
      setProblems(e instanceof ApiError ? e.problems : []);
    } finally {
      setBusy(false);
    }
  }
  return { error, problems, busy, attempt };
}

/** useAttempt for a form that submits the payload `build` makes of it. */
function useSubmit(submit: Submit) {
  const { attempt, ...state } = useAttempt();
  return { ...state, run: (build: () => Record<string, unknown>) => attempt(() => submit(build())) };
}

export function Text(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  hint?: string;
  required?: boolean;
  numeric?: boolean;
  type?: string;
}) {
  return (
    <label>
      {props.label}
      <input
        type={props.type ?? "text"}
        inputMode={props.numeric ? "decimal" : undefined}
        value={props.value}
        required={props.required}
        onChange={(e) => props.onChange(e.target.value)}
        autoComplete="off"
      />
      {props.hint ? <span className="hint">{props.hint}</span> : null}
    </label>
  );
}

export function TypeAndStreaming<T extends { modelType: "textgen" | "embedding"; streaming: boolean }>(props: {
  form: T;
  set: (change: Partial<T>) => void;
}) {
  const { form, set } = props;
  return (
    <>
      <label>
        Model type
        <select
          value={form.modelType}
          onChange={(e) => set({ modelType: e.target.value as T["modelType"] } as Partial<T>)}
        >
          <option value="textgen">textgen</option>
          <option value="embedding">embedding</option>
        </select>
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={form.streaming && form.modelType !== "embedding"}
          disabled={form.modelType === "embedding"}
          onChange={(e) => set({ streaming: e.target.checked } as Partial<T>)}
        />
        Streaming
      </label>
    </>
  );
}

export function InferenceContainerSelect(props: {
  value: string;
  onChange: (container: EcsForm["inferenceContainer"]) => void;
}) {
  return (
    <label>
      Inference container
      <select value={props.value} onChange={(e) => props.onChange(e.target.value as EcsForm["inferenceContainer"])}>
        <option value="vllm">vllm</option>
        <option value="tgi">tgi</option>
        <option value="tei">tei</option>
      </select>
    </label>
  );
}

export function EnvironmentField(props: { value: string; onChange: (environment: string) => void }) {
  return (
    <label>
      Environment (KEY=VALUE per line)
      <textarea rows={3} value={props.value} onChange={(e) => props.onChange(e.target.value)} />
    </label>
  );
}

function Actions(props: { busy: boolean; label: string; onCancel: () => void; children?: ReactNode }) {
  return (
    <div className="row end">
      {props.children}
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
      <button type="submit" className="primary" disabled={props.busy}>
        {props.busy ? "Sending…" : props.label}
      </button>
    </div>
  );
}

export function LiteLLMModelForm(props: { onSubmit: Submit; onCancel: () => void }) {
  const [form, setForm] = useState<LiteLLMForm>(DEFAULT_LITELLM_FORM);
  const set = (change: Partial<LiteLLMForm>) => setForm((f) => ({ ...f, ...change }));
  const { error, problems, busy, run } = useSubmit(props.onSubmit);
  return (
    <form
      className="model-form"
      aria-label="Create a LiteLLM-only model"
      onSubmit={(e: FormEvent) => (e.preventDefault(), void run(() => liteLLMPayload(form)))}
    >
      <p className="muted">
        No infrastructure is created: the model is routed by LiteLLM to Bedrock, SageMaker or an OpenAI-compatible
        server.
      </p>
      <div className="grid2">
        <Text
          label="Model ID"
          value={form.modelId}
          onChange={(modelId) => set({ modelId })}
          hint="lowercase letters, digits and hyphens"
          required
        />
        <Text
          label="Model name"
          value={form.modelName}
          onChange={(modelName) => set({ modelName })}
          hint="bedrock/…, sagemaker/… or openai/<served name>"
          required
        />
        <Text
          label="Model URL"
          value={form.modelUrl}
          onChange={(modelUrl) => set({ modelUrl })}
          hint="base URL of an OpenAI-compatible server (openai/ models)"
        />
        <Text
          label="API key"
          type="password"
          value={form.apiKey}
          onChange={(apiKey) => set({ apiKey })}
          hint="optional; kept in Secrets Manager, never shown again"
        />
        <TypeAndStreaming form={form} set={set} />
      </div>
      <ErrorBox error={error} problems={problems} />
      <Actions busy={busy} label="Create model" onCancel={props.onCancel} />
    </form>
  );
}

export function EcsModelForm(props: { onSubmit: Submit; onCancel: () => void }) {
  const [form, setForm] = useState<EcsForm>(DEFAULT_ECS_FORM);
  const set = (change: Partial<EcsForm>) => setForm((f) => ({ ...f, ...change }));
  const field = (label: string, key: keyof EcsForm, hint?: string, numeric = true) => (
    <Text label={label} value={String(form[key])} onChange={(v) => set({ [key]: v })} hint={hint} numeric={numeric} />
  );
  const { error, problems, busy, run } = useSubmit(props.onSubmit);
  return (
    <form
      className="model-form"
      aria-label="Create an ECS-hosted model"
      onSubmit={(e: FormEvent) => (e.preventDefault(), void run(() => ecsPayload(form)))}
    >
      <p className="muted">
        Hosted on the platform's GPU cluster: an ECS service behind the model load balancer, with autoscaling.
      </p>
      <fieldset>
        <legend>Model</legend>
        <div className="grid2">
          <Text
            label="Model ID"
            value={form.modelId}
            onChange={(modelId) => set({ modelId })}
            required
            hint="lowercase letters, digits and hyphens"
          />
          <Text
            label="Model name"
            value={form.modelName}
            onChange={(modelName) => set({ modelName })}
            required
            hint="S3 key of the weights in the models bucket"
          />
          <InferenceContainerSelect
            value={form.inferenceContainer}
            onChange={(inferenceContainer) => set({ inferenceContainer })}
          />
          {field("Instance type", "instanceType", "e.g. g5.xlarge", false)}
          <TypeAndStreaming form={form} set={set} />
        </div>
      </fieldset>
      <fieldset>
        <legend>Container</legend>
        <div className="grid2">
          {field("Base image", "baseImage", undefined, false)}
          <label>
            Image type
            <select value={form.imageType} onChange={(e) => set({ imageType: e.target.value as EcsForm["imageType"] })}>
              <option value="asset">asset</option>
              <option value="ecr">ecr</option>
              <option value="registry">registry</option>
              <option value="external">external</option>
            </select>
          </label>
          {field("Shared memory (MiB)", "sharedMemorySize")}
          {field("Health check command", "healthCheckCommand", "JSON list or one shell command", false)}
          {field("Health check interval (s)", "healthCheckInterval")}
          {field("Health check start period (s)", "healthCheckStartPeriod")}
          {field("Health check timeout (s)", "healthCheckTimeout")}
          {field("Health check retries", "healthCheckRetries")}
        </div>
        <EnvironmentField value={form.environment} onChange={(environment) => set({ environment })} />
      </fieldset>
      <fieldset>
        <legend>Autoscaling</legend>
        <div className="grid3">
          {field("Min capacity", "minCapacity")}
          {field("Max capacity", "maxCapacity")}
          {field("Desired capacity", "desiredCapacity", "optional")}
          {field("Cooldown (s)", "cooldown")}
          {field("Instance warmup (s)", "defaultInstanceWarmup")}
          {field("Metric", "albMetricName", undefined, false)}
          {field("Target value", "targetValue")}
          {field("Duration (s)", "metricDuration")}
          {field("Estimated warmup (s)", "estimatedInstanceWarmup")}
        </div>
      </fieldset>
      <fieldset>
        <legend>Load balancer health check</legend>
        <div className="grid3">
          {field("Path", "lbHealthPath", undefined, false)}
          {field("Interval (s)", "lbHealthInterval")}
          {field("Timeout (s)", "lbHealthTimeout")}
          {field("Healthy threshold", "lbHealthyThreshold")}
          {field("Unhealthy threshold", "lbUnhealthyThreshold")}
        </div>
      </fieldset>
      <ErrorBox error={error} problems={problems} />
      <Actions busy={busy} label="Create model" onCancel={props.onCancel} />
    </form>
  );
}

export function ScaleForm(props: { model: ModelRecord; onSubmit: Submit; onCancel: () => void }) {
  const current = props.model.autoScalingConfig;
  const [min, setMin] = useState(String(current?.minCapacity ?? ""));
  const [max, setMax] = useState(String(current?.maxCapacity ?? ""));
  const [desired, setDesired] = useState(current?.desiredCapacity != null ? String(current.desiredCapacity) : "");
  const { error, problems, busy, run } = useSubmit(props.onSubmit);
  return (
    <form
      aria-label={`Scale ${props.model.modelId}`}
      onSubmit={(e) => (e.preventDefault(), void run(() => scalePayload(min, max, desired)))}
    >
      <p className="muted">
        Every number must be above 0, with min ≤ desired ≤ max. A stopped model keeps the new numbers for its next
        start.
      </p>
      <div className="grid3">
        <Text label="Min capacity" value={min} onChange={setMin} numeric />
        <Text label="Max capacity" value={max} onChange={setMax} numeric />
        <Text label="Desired capacity" value={desired} onChange={setDesired} numeric hint="optional" />
      </div>
      <ErrorBox error={error} problems={problems} />
      <Actions busy={busy} label="Scale" onCancel={props.onCancel} />
    </form>
  );
}
