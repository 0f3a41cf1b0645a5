import { describe, expect, it } from "vitest";
import { modelRecord } from "../api/modelRecord.fixture";
import { editForm, editPayload, previewRows } from "./modelEdit";
import { FormProblem } from "./modelPayload";

const hosted = modelRecord({
  modelId: "mistral",
  instanceType: "g5.xlarge",
  inferenceContainer: "vllm",
  containerConfig: {
    image: { baseImage: "vllm/vllm-openai:v0.5.0", type: "asset" },
    sharedMemorySize: 2048,
    environment: { MAX_TOTAL_TOKENS: "2048" },
    healthCheckConfig: { command: ["CMD-SHELL", "exit 0"], interval: 10, startPeriod: 30, timeout: 5, retries: 3 },
  },
  autoScalingConfig: { minCapacity: 1, maxCapacity: 2, cooldown: 420, defaultInstanceWarmup: 180 },
});

describe("edit payload", () => {
  it("names only what changed", () => {
    const form = { ...editForm(hosted), environment: "MAX_TOTAL_TOKENS=4096\nNEW=1", cooldown: "300" };
    expect(editPayload(hosted, form)).toEqual({
      containerConfig: { environment: { MAX_TOTAL_TOKENS: "4096", NEW: "1" } },
      autoScalingInstanceConfig: { cooldown: 300 },
    });
  });

  it("sends a new image tag and the fields that replace the model", () => {
    const form = { ...editForm(hosted), baseImage: "vllm/vllm-openai:v0.6.0", instanceType: "g5.2xlarge" };
    expect(editPayload(hosted, form)).toEqual({
      containerConfig: { image: { baseImage: "vllm/vllm-openai:v0.6.0" } },
      instanceType: "g5.2xlarge",
    });
  });

  it("reads features and groups from their text fields", () => {
    const lite = modelRecord({ modelId: "lite" });
    const form = { ...editForm(lite), features: "summarization: short texts\nchat", allowedGroups: "a, b" };
    expect(editPayload(lite, form)).toEqual({
      features: [
        { name: "summarization", overview: "short texts" },
        { name: "chat", overview: "" },
      ],
      allowedGroups: ["a", "b"],
    });
  });

  it("refuses an unchanged form", () => {
    expect(() => editPayload(hosted, editForm(hosted))).toThrow(FormProblem);
  });
});

it("sends a change of type with streaming off for an embedding model", () => {
  const lite = modelRecord({ modelId: "lite" });
  expect(editPayload(lite, { ...editForm(lite), modelType: "embedding" })).toEqual({
    modelType: "embedding",
    streaming: false,
  });
});

describe("preview rows", () => {
  it("list each changed property of each step that changes something", () => {
    const rows = previewRows({
      replaces: [],
      steps: [
        { op: "same", resource: "registration", type: "x" },
        {
          op: "update",
          resource: "model",
          type: "HostedModel",
          diffs: ["containerConfig"],
          changes: [{ property: "containerConfig.environment.NEW", before: null, after: "1" }],
        },
        { op: "replace", resource: "other", type: "y", diffs: ["instanceType"] },
      ],
    });
    expect(rows).toEqual([
      { resource: "model", op: "update", property: "containerConfig.environment.NEW", before: "(missing)", after: "1" },
      { resource: "other", op: "replace", property: "instanceType", before: "", after: "" },
    ]);
  });
});
