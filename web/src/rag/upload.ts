/** Uploading a document with progress (fetch cannot report upload progress, XMLHttpRequest can). */
import { ApiError, errorFromBody } from "../api/errors";
import type { UploadAnswer } from "../api/clients";

export interface UploadOptions {
  url: string;
  token: string | null;
  file: File;
  embeddingModel?: string;
  chunkSize?: number;
  chunkOverlap?: number;
  collectionId?: string;
  /** LISA's document metadata: tags (and custom fields), searchable as a filter. */
  tags?: string[];
  onProgress: (fraction: number) => void;
  signal?: AbortSignal;
}

export function uploadDocument(options: UploadOptions): Promise<UploadAnswer["jobs"]> {
  const { url, token, file, embeddingModel, chunkSize, chunkOverlap, collectionId, tags, onProgress, signal } = options;
  const form = new FormData();
  form.append("file", file, file.name);
  if (collectionId) form.append("collectionId", collectionId);
  if (tags?.length) form.append("metadata", JSON.stringify({ tags }));
  if (embeddingModel) form.append("embeddingModel", embeddingModel);
  if (chunkSize) form.append("chunkSize", String(chunkSize));
  if (chunkOverlap !== undefined) form.append("chunkOverlap", String(chunkOverlap));
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        try {
          resolve((JSON.parse(xhr.responseText) as UploadAnswer).jobs ?? []);
        } catch {
          reject(new ApiError("the server answered something that is not JSON", xhr.status));
        }
      } else {
        reject(errorFromBody(xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () => reject(new TypeError("the upload failed on the network"));
    xhr.onabort = () => reject(new DOMException("upload cancelled", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}

export const INGEST_LABELS: Record<string, string> = {
  INGESTION_PENDING: "Waiting",
  INGESTION_IN_PROGRESS: "Embedding",
  INGESTION_COMPLETED: "Ready",
  INGESTION_FAILED: "Failed",
};

export function ingestDone(status: string): boolean {
  return status === "INGESTION_COMPLETED" || status === "INGESTION_FAILED";
}

function chunks(n: number): string {
  return n === 1 ? "1 chunk" : `${n} chunks`;
}

/** "12 of 40 chunks" style progress text for a job. */
export function ingestProgress(job: {
  status: string;
  chunks?: number | null;
  chunks_embedded?: number | null;
}): string {
  const label = INGEST_LABELS[job.status] ?? job.status;
  if (job.status === "INGESTION_IN_PROGRESS" && job.chunks)
    return `${label} ${job.chunks_embedded ?? 0} of ${chunks(job.chunks)}`;
  if (job.status === "INGESTION_COMPLETED" && job.chunks != null) return `${label} (${chunks(job.chunks)})`;
  return label;
}
