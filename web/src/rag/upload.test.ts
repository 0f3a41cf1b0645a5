import { describe, expect, it } from "vitest";
import { ingestDone, ingestProgress } from "./upload";

describe("ingest status", () => {
  it("counts embedded chunks while in progress", () => {
    expect(ingestProgress({ status: "INGESTION_IN_PROGRESS", chunks: 40, chunks_embedded: 12 })).toBe(
      "Embedding 12 of 40 chunks",
    );
  });

  it("says ready with the chunk count", () => {
    expect(ingestProgress({ status: "INGESTION_COMPLETED", chunks: 3 })).toBe("Ready (3 chunks)");
  });

  it("says chunk for one", () => {
    expect(ingestProgress({ status: "INGESTION_COMPLETED", chunks: 1 })).toBe("Ready (1 chunk)");
  });

  it("is done when completed or failed only", () => {
    expect(
      ["INGESTION_PENDING", "INGESTION_IN_PROGRESS", "INGESTION_COMPLETED", "INGESTION_FAILED"].map(ingestDone),
    ).toEqual([false, false, true, true]);
  });
});
