import { describe, expect, it } from "vitest";
import type { IngestJob, RagDocument } from "../api/clients";
import type { ModelRecord } from "../api/clients";
import {
  INGEST_POLL_MS,
  MODELS_CHANGING_POLL_MS,
  MODELS_SETTLED_POLL_MS,
  ingestPollMs,
  modelRecordsPollMs,
} from "./queries";

const model = (status: ModelRecord["status"]): ModelRecord => ({
  modelId: `m-${status}`,
  modelName: "n",
  modelType: "textgen",
  status,
  streaming: true,
});

const job = (status: IngestJob["status"]): IngestJob => ({
  jobId: "j",
  documentId: "d",
  documentName: "a.txt",
  status,
});

describe("modelRecordsPollMs", () => {
  it("polls fast while any model is changing", () => {
    expect(modelRecordsPollMs([model("InService"), model("Creating")])).toBe(MODELS_CHANGING_POLL_MS);
    expect(modelRecordsPollMs([model("Deleting")])).toBe(MODELS_CHANGING_POLL_MS);
  });

  it("polls slowly when every model has settled, or before the list is known", () => {
    expect(modelRecordsPollMs([model("InService"), model("Stopped"), model("Failed")])).toBe(MODELS_SETTLED_POLL_MS);
    expect(modelRecordsPollMs(undefined)).toBe(MODELS_SETTLED_POLL_MS);
  });
});

describe("ingestPollMs", () => {
  const document = (status: IngestJob["status"]): RagDocument => ({ ...job(status), repositoryId: "r" });

  it("polls while a job or a document is still being ingested", () => {
    expect(ingestPollMs({ documents: [], jobs: [job("INGESTION_PENDING")] })).toBe(INGEST_POLL_MS);
    expect(ingestPollMs({ documents: [document("INGESTION_IN_PROGRESS")], jobs: [] })).toBe(INGEST_POLL_MS);
  });

  it("stops once everything is done or failed", () => {
    expect(ingestPollMs({ documents: [document("INGESTION_COMPLETED")], jobs: [job("INGESTION_FAILED")] })).toBe(false);
    expect(ingestPollMs(undefined)).toBe(false);
  });
});
