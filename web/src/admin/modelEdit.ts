/**
 * The edit form of a model (PUT /models/{id}, LISA v6's updatable fields): its state from the record, the update
 * naming only what changed, and the preview (?dryRun=true) as rows of property changes. A change of instanceType or
 * inferenceContainer replaces the hosted model; the api refuses it without ?allowReplace=true.
 */
import type { ModelPreview, ModelRecord, UpdateModelRequest } from "../api/clients";
import { FormProblem, metadataPayload, numberField, parseEnvironment, parseHealthCommand } from "./modelPayload";
import { showValue } from "./modelDrift";

export interface EditForm {
  modelType: "textgen" | "embedding";
  streaming: boolean;
  modelDescription: string;
  contextWindow: string;
  allowedGroups: string; // comma separated
  features: string; // one "name: overview" per line
  // hosted models only
  baseImage: string;
  environment: string; // KEY=VALUE per line
  sharedMemorySize: string;
  healthCheckCommand: string;
  cooldown: string;
  defaultInstanceWarmup: string;
  instanceType: string;
  inferenceContainer: string;
}

function envText(env: Record<string, string> | undefined): string {
  return Object.entries(env ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
}

export function editForm(model: ModelRecord): EditForm {
  const container = model.containerConfig;
  const scaling = model.autoScalingConfig;
  return {
    modelType: model.modelType,
    streaming: model.streaming,
    modelDescription: model.modelDescription ?? "",
    contextWindow: model.contextWindow != null ? String(model.contextWindow) : "",
    allowedGroups: (model.allowedGroups ?? []).join(", "),
    features: (model.features ?? []).map((f) => (f.overview ? `${f.name}: ${f.overview}` : f.name)).join("\n"),
    baseImage: container?.image.baseImage ?? "",
    environment: envText(container?.environment),
    sharedMemorySize: container?.sharedMemorySize != null ? String(container.sharedMemorySize) : "",
    healthCheckCommand: container?.healthCheckConfig?.command
      ? JSON.stringify(container.healthCheckConfig.command)
      : "",
    cooldown: scaling?.cooldown != null ? String(scaling.cooldown) : "",
    defaultInstanceWarmup: scaling?.defaultInstanceWarmup != null ? String(scaling.defaultInstanceWarmup) : "",
    instanceType: model.instanceType ?? "",
    inferenceContainer: model.inferenceContainer ?? "",
  };
}

function parseFeatures(text: string): { name: string; overview: string }[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const colon = line.indexOf(":");
      return colon < 0
        ? { name: line, overview: "" }
        : { name: line.slice(0, colon).trim(), overview: line.slice(colon + 1).trim() };
    });
}

function groups(text: string): string[] {
  return text
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The update naming only the fields the admin changed; FormProblem when nothing changed or a field is malformed. */
export function editPayload(model: ModelRecord, form: EditForm): UpdateModelRequest {
  const before = editForm(model);
  const update: Record<string, unknown> = {};
  if (form.modelType !== before.modelType || form.streaming !== before.streaming)
    Object.assign(update, metadataPayload(form.streaming, form.modelType));
  if (form.modelDescription !== before.modelDescription) update.modelDescription = form.modelDescription.trim();
  if (form.contextWindow.trim() !== before.contextWindow) update.contextWindow = numberField(form.contextWindow);
  if (!same(groups(form.allowedGroups), groups(before.allowedGroups)))
    update.allowedGroups = groups(form.allowedGroups);
  if (!same(parseFeatures(form.features), parseFeatures(before.features)))
    update.features = parseFeatures(form.features);
  if (model.containerConfig) {
    const container: Record<string, unknown> = {};
    if (form.baseImage.trim() !== before.baseImage) container.image = { baseImage: form.baseImage.trim() };
    const env = parseEnvironment(form.environment);
    if (!same(env, parseEnvironment(before.environment))) container.environment = env;
    if (form.sharedMemorySize.trim() !== before.sharedMemorySize)
      container.sharedMemorySize = numberField(form.sharedMemorySize);
    if (form.healthCheckCommand.trim() !== before.healthCheckCommand)
      container.healthCheckCommand = parseHealthCommand(form.healthCheckCommand);
    if (Object.keys(container).length) update.containerConfig = container;
    const scaling: Record<string, unknown> = {};
    if (form.cooldown.trim() !== before.cooldown) scaling.cooldown = numberField(form.cooldown);
    if (form.defaultInstanceWarmup.trim() !== before.defaultInstanceWarmup)
      scaling.defaultInstanceWarmup = numberField(form.defaultInstanceWarmup);
    if (Object.keys(scaling).length) update.autoScalingInstanceConfig = scaling;
    if (form.instanceType.trim() !== before.instanceType) update.instanceType = form.instanceType.trim();
    if (form.inferenceContainer !== before.inferenceContainer) update.inferenceContainer = form.inferenceContainer;
  }
  if (!Object.keys(update).length) throw new FormProblem("Nothing changed");
  return update;
}

export interface PreviewRow {
  resource: string;
  op: string;
  property: string;
  before: string;
  after: string;
}

/** One row per changed property of each step that does something (a step without property detail: one row). */
export function previewRows(preview: ModelPreview): PreviewRow[] {
  return (preview.steps ?? [])
    .filter((s) => s.op !== "same")
    .flatMap((s) => {
      const changes = s.changes ?? [];
      if (!changes.length)
        return [{ resource: s.resource, op: s.op, property: (s.diffs ?? []).join(", "), before: "", after: "" }];
      return changes.map((c) => ({
        resource: s.resource,
        op: s.op,
        property: c.property,
        before: c.before === undefined ? "" : showValue(c.before),
        after: c.after === undefined ? "" : showValue(c.after),
      }));
    });
}
