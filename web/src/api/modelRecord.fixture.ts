/** Model records for tests: every field the api answers, with the overrides a test cares about. */
import type { ModelRecord } from "./clients";

export function modelRecord(overrides: Partial<ModelRecord> & Pick<ModelRecord, "modelId">): ModelRecord {
  return {
    modelName: "openai/x",
    modelType: "textgen",
    inferenceContainer: null,
    instanceType: null,
    streaming: true,
    allowedGroups: [],
    modelUrl: null,
    containerConfig: null,
    autoScalingConfig: null,
    loadBalancerConfig: null,
    contextWindow: null,
    modelDescription: null,
    features: [],
    status: "InService",
    statusReason: null,
    enabled: true,
    createdAt: null,
    updatedAt: null,
    drift: null,
    ...overrides,
  };
}
