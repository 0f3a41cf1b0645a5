import { describe, expect, it } from "vitest";
import type { IngestJob, RagDocument } from "../api/clients";
import type { ModelRecord } from "../api/clients";
import { modelRecord } from "../api/modelRecord.fixture";
import {
  INGEST_POLL_MS,
  MODELS_CHANGING_POLL_MS,
  MODELS_SETTLED_POLL_MS,
  ingestPollMs,
  modelRecordsPollMs,
} from "./queries";

const model = (status: ModelRecord["status"]): ModelRecord => modelRecord({ modelId: `m-${status}`, status });

const job = (status: IngestJob["status"]): IngestJob => ({
  id: "j",
  s3_path: "s3://b/a.txt",
  collection_id: "c",
  document_id: "d",
  repository_id: "r",
  document_name: "a.txt",
  created_date: "2026-01-01T00:00:00Z",
  embedding_model: "m",
  username: "u",
  ingestion_type: "manual",
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
  const document = (status: IngestJob["status"]): RagDocument => ({
    pk: "r#c",
    document_id: "d",
    repository_id: "r",
    collection_id: "c",
    document_name: "a.txt",
    source: "s3://b/a.txt",
    username: "u",
    chunk_strategy: { type: "fixed", size: 512, overlap: 51 },
    ingestion_type: "manual",
    upload_date: 0,
    chunks: 1,
    embedding_model: "m",
    status,
  });

  it("polls while a job or a document is still being ingested", () => {
    expect(ingestPollMs({ documents: [], jobs: [job("INGESTION_PENDING")] })).toBe(INGEST_POLL_MS);
    expect(ingestPollMs({ documents: [document("INGESTION_IN_PROGRESS")], jobs: [] })).toBe(INGEST_POLL_MS);
  });

  it("stops once everything is done or failed", () => {
    expect(ingestPollMs({ documents: [document("INGESTION_COMPLETED")], jobs: [job("INGESTION_FAILED")] })).toBe(false);
    expect(ingestPollMs(undefined)).toBe(false);
  });
});
