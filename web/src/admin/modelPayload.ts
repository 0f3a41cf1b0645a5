/**
 * The admin forms' state and the payloads they send, mirroring LISA's model-management API
 * (POST /models, PUT /models/{modelId}). The API validates; the form only turns text fields into JSON values
 * (an entry that is not a number is sent as typed so the API's own message names it).
 */
import type { ModelRecord, ModelStatus } from "../api/clients";

export const TRANSITIONAL: ReadonlySet<ModelStatus> = new Set([
  "Creating",
  "Stopping",
  "Starting",
  "Updating",
  "Deleting",
]);

export function isTransitional(status: string): boolean {
  return TRANSITIONAL.has(status as ModelStatus);
}

/** Which lifecycle buttons make sense in a status. */
export function allowedActions(model: ModelRecord): {
  start: boolean;
  stop: boolean;
  scale: boolean;
  edit: boolean;
  remove: boolean;
} {
  const s = model.status;
  const settled = !isTransitional(s);
  return {
    start: s === "Stopped",
    stop: s === "InService",
    scale: settled && s !== "Failed" && Boolean(model.autoScalingConfig),
    edit: settled,
    // The API refuses to delete a model in the middle of a change (409); wait for it to settle.
    remove: settled,
  };
}

export interface CommonForm {
  modelId: string;
  modelName: string;
  modelType: "textgen" | "embedding";
  streaming: boolean;
}

export interface LiteLLMForm extends CommonForm {
  modelUrl: string;
  apiKey: string;
}

export interface EcsForm extends CommonForm {
  inferenceContainer: "tgi" | "tei" | "vllm";
  instanceType: string;
  baseImage: string;
  imageType: "asset" | "ecr" | "registry" | "external";
  sharedMemorySize: string;
  /** KEY=VALUE, one per line. */
  environment: string;
  /** A JSON list (["CMD-SHELL", "exit 0"]) or one shell command. */
  healthCheckCommand: string;
  healthCheckInterval: string;
  healthCheckStartPeriod: string;
  healthCheckTimeout: string;
  healthCheckRetries: string;
  minCapacity: string;
  maxCapacity: string;
  desiredCapacity: string;
  cooldown: string;
  defaultInstanceWarmup: string;
  albMetricName: string;
  targetValue: string;
  metricDuration: string;
  estimatedInstanceWarmup: string;
  lbHealthPath: string;
  lbHealthInterval: string;
  lbHealthTimeout: string;
  lbHealthyThreshold: string;
  lbUnhealthyThreshold: string;
}

/** Defaults as in LISA's README example. */
export const DEFAULT_ECS_FORM: EcsForm = {
  modelId: "",
  modelName: "",
  modelType: "textgen",
  streaming: true,
  inferenceContainer: "vllm",
  instanceType: "g5.xlarge",
  baseImage: "vllm/vllm-openai:v0.5.0",
  imageType: "asset",
  sharedMemorySize: "2048",
  environment: "MAX_CONCURRENT_REQUESTS=128\nMAX_INPUT_LENGTH=1024\nMAX_TOTAL_TOKENS=2048",
  healthCheckCommand: '["CMD-SHELL", "exit 0"]',
  healthCheckInterval: "10",
  healthCheckStartPeriod: "30",
  healthCheckTimeout: "5",
  healthCheckRetries: "3",
  minCapacity: "1",
  maxCapacity: "1",
  desiredCapacity: "",
  cooldown: "420",
  defaultInstanceWarmup: "180",
  albMetricName: "RequestCountPerTarget",
  targetValue: "30",
  metricDuration: "60",
  estimatedInstanceWarmup: "330",
  lbHealthPath: "/health",
  lbHealthInterval: "60",
  lbHealthTimeout: "30",
  lbHealthyThreshold: "2",
  lbUnhealthyThreshold: "10",
};

export const DEFAULT_LITELLM_FORM: LiteLLMForm = {
  modelId: "",
  modelName: "",
  modelType: "textgen",
  streaming: true,
  modelUrl: "",
  apiKey: "",
};

/** A number if the text is one; the trimmed text otherwise (the API names the problem); undefined when empty. */
export function numberField(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : trimmed;
}

export class FormProblem extends Error {}

export function parseEnvironment(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new FormProblem(`Environment line ${i + 1}: expected KEY=VALUE, got "${line}"`);
    env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  });
  return env;
}

export function parseHealthCommand(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new FormProblem("Health check command: not a valid JSON list");
    }
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
      throw new FormProblem("Health check command: expected a list of strings");
    }
    return value as string[];
  }
  return trimmed ? ["CMD-SHELL", trimmed] : [];
}

function compact<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

function common(form: CommonForm): Record<string, unknown> {
  return {
    modelId: form.modelId.trim(),
    modelName: form.modelName.trim(),
    modelType: form.modelType,
    // An embedding model cannot stream; LISA refuses the combination, so the form never sends it.
    streaming: form.modelType === "embedding" ? false : form.streaming,
  };
}

export function liteLLMPayload(form: LiteLLMForm): Record<string, unknown> {
  return compact({
    ...common(form),
    modelUrl: form.modelUrl.trim() || undefined,
    apiKey: form.apiKey || undefined,
  });
}

export function ecsPayload(form: EcsForm): Record<string, unknown> {
  return {
    ...common(form),
    inferenceContainer: form.inferenceContainer,
    instanceType: form.instanceType.trim(),
    containerConfig: compact({
      image: { baseImage: form.baseImage.trim(), type: form.imageType },
      sharedMemorySize: numberField(form.sharedMemorySize),
      environment: parseEnvironment(form.environment),
      healthCheckConfig: compact({
        command: parseHealthCommand(form.healthCheckCommand),
        interval: numberField(form.healthCheckInterval),
        startPeriod: numberField(form.healthCheckStartPeriod),
        timeout: numberField(form.healthCheckTimeout),
        retries: numberField(form.healthCheckRetries),
      }),
    }),
    autoScalingConfig: compact({
      minCapacity: numberField(form.minCapacity),
      maxCapacity: numberField(form.maxCapacity),
      desiredCapacity: numberField(form.desiredCapacity),
      cooldown: numberField(form.cooldown),
      defaultInstanceWarmup: numberField(form.defaultInstanceWarmup),
      metricConfig: compact({
        albMetricName: form.albMetricName.trim() || undefined,
        targetValue: numberField(form.targetValue),
        duration: numberField(form.metricDuration),
        estimatedInstanceWarmup: numberField(form.estimatedInstanceWarmup),
      }),
    }),
    loadBalancerConfig: {
      healthCheckConfig: compact({
        path: form.lbHealthPath.trim() || undefined,
        interval: numberField(form.lbHealthInterval),
        timeout: numberField(form.lbHealthTimeout),
        healthyThresholdCount: numberField(form.lbHealthyThreshold),
        unhealthyThresholdCount: numberField(form.lbUnhealthyThreshold),
      }),
    },
  };
}

export function metadataPayload(streaming: boolean, modelType: "textgen" | "embedding"): Record<string, unknown> {
  return { streaming: modelType === "embedding" ? false : streaming, modelType };
}

export function scalePayload(min: string, max: string, desired: string): Record<string, unknown> {
  return {
    autoScalingInstanceConfig: compact({
      minCapacity: numberField(min),
      maxCapacity: numberField(max),
      desiredCapacity: numberField(desired),
    }),
  };
}

export function enabledPayload(enabled: boolean): { enabled: boolean } {
  return { enabled };
}
