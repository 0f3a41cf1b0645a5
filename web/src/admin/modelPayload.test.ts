import { describe, expect, it } from "vitest";
import type { ModelRecord } from "../api/clients";
import { modelRecord } from "../api/modelRecord.fixture";
import {
  allowedActions,
  DEFAULT_ECS_FORM,
  DEFAULT_LITELLM_FORM,
  ecsPayload,
  enabledPayload,
  FormProblem,
  liteLLMPayload,
  metadataPayload,
  numberField,
  parseEnvironment,
  parseHealthCommand,
  scalePayload,
} from "./modelPayload";

describe("LiteLLM-only payload", () => {
  it("is LISA's README example for a Bedrock model", () => {
    const payload = liteLLMPayload({
      ...DEFAULT_LITELLM_FORM,
      modelId: "titan-express-v1",
      modelName: "bedrock/amazon.titan-text-express-v1",
    });
    expect(payload).toEqual({
      modelId: "titan-express-v1",
      modelName: "bedrock/amazon.titan-text-express-v1",
      modelType: "textgen",
      streaming: true,
    });
  });

  it("carries modelUrl and apiKey for an OpenAI-compatible server", () => {
    const payload = liteLLMPayload({
      ...DEFAULT_LITELLM_FORM,
      modelId: "x",
      modelName: "openai/x",
      modelUrl: " http://h/v1 ",
      apiKey: "k",
    });
    expect([payload.modelUrl, payload.apiKey]).toEqual(["http://h/v1", "k"]);
  });

  it("never asks an embedding model to stream", () => {
    expect(liteLLMPayload({ ...DEFAULT_LITELLM_FORM, modelType: "embedding", streaming: true }).streaming).toBe(false);
  });
});

describe("ECS payload", () => {
  it("with the defaults is LISA's README example for an ECS model", () => {
    const payload = ecsPayload({
      ...DEFAULT_ECS_FORM,
      modelId: "mistral-vllm",
      modelName: "mistralai/Mistral-7B-Instruct-v0.2",
    });
    expect(payload).toEqual({
      modelId: "mistral-vllm",
      modelName: "mistralai/Mistral-7B-Instruct-v0.2",
      modelType: "textgen",
      inferenceContainer: "vllm",
      instanceType: "g5.xlarge",
      streaming: true,
      containerConfig: {
        image: { baseImage: "vllm/vllm-openai:v0.5.0", type: "asset" },
        sharedMemorySize: 2048,
        environment: { MAX_CONCURRENT_REQUESTS: "128", MAX_INPUT_LENGTH: "1024", MAX_TOTAL_TOKENS: "2048" },
        healthCheckConfig: { command: ["CMD-SHELL", "exit 0"], interval: 10, startPeriod: 30, timeout: 5, retries: 3 },
      },
      autoScalingConfig: {
        minCapacity: 1,
        maxCapacity: 1,
        cooldown: 420,
        defaultInstanceWarmup: 180,
        metricConfig: {
          albMetricName: "RequestCountPerTarget",
          targetValue: 30,
          duration: 60,
          estimatedInstanceWarmup: 330,
        },
      },
      loadBalancerConfig: {
        healthCheckConfig: {
          path: "/health",
          interval: 60,
          timeout: 30,
          healthyThresholdCount: 2,
          unhealthyThresholdCount: 10,
        },
      },
    });
  });

  it("sends a non-number as typed so the API can name it", () => {
    expect(
      (ecsPayload({ ...DEFAULT_ECS_FORM, minCapacity: "two" }).autoScalingConfig as { minCapacity: unknown })
        .minCapacity,
    ).toBe("two");
  });
});

describe("form fields", () => {
  it("parses numbers, leaves text, omits empty", () => {
    expect([numberField(" 42 "), numberField("4x"), numberField("")]).toEqual([42, "4x", undefined]);
  });

  it("parses KEY=VALUE lines, skipping blanks and comments", () => {
    expect(parseEnvironment("A=1\n\n# note\nB = x=y")).toEqual({ A: "1", B: "x=y" });
  });

  it("names a line without =", () => {
    expect(() => parseEnvironment("A=1\noops")).toThrow(
      new FormProblem('Environment line 2: expected KEY=VALUE, got "oops"'),
    );
  });

  it("takes a JSON command or wraps a shell command", () => {
    expect(parseHealthCommand('["CMD", "true"]')).toEqual(["CMD", "true"]);
    expect(parseHealthCommand("curl -f localhost/health")).toEqual(["CMD-SHELL", "curl -f localhost/health"]);
    expect(() => parseHealthCommand("[1]")).toThrow(FormProblem);
  });
});

describe("update payloads", () => {
  it("scales with only the numbers given", () => {
    expect(scalePayload("2", "4", "")).toEqual({ autoScalingInstanceConfig: { minCapacity: 2, maxCapacity: 4 } });
  });

  it("stops and starts with enabled alone", () => {
    expect([enabledPayload(false), enabledPayload(true)]).toEqual([{ enabled: false }, { enabled: true }]);
  });

  it("turns streaming off for an embedding model", () => {
    expect(metadataPayload(true, "embedding")).toEqual({ streaming: false, modelType: "embedding" });
  });
});

describe("allowedActions", () => {
  const model = (status: ModelRecord["status"], scaled = true): ModelRecord =>
    modelRecord({ modelId: "m", status, autoScalingConfig: scaled ? { minCapacity: 1, maxCapacity: 1 } : null });

  it("offers stop in service and start when stopped", () => {
    expect([allowedActions(model("InService")).stop, allowedActions(model("InService")).start]).toEqual([true, false]);
    expect([allowedActions(model("Stopped")).stop, allowedActions(model("Stopped")).start]).toEqual([false, true]);
  });

  it("offers nothing while a change is running", () => {
    expect(allowedActions(model("Creating"))).toEqual({
      start: false,
      stop: false,
      scale: false,
      edit: false,
      remove: false,
    });
  });

  it("lets a failed model be deleted", () => {
    expect(allowedActions(model("Failed")).remove).toBe(true);
  });

  it("scales only models with capacity", () => {
    expect(allowedActions(model("InService", false)).scale).toBe(false);
  });
});
