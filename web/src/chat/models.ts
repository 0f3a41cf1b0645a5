/**
 * The models a user can chat with or embed with, from serve's `GET /v2/serve/models` (OpenAI's list object).
 *
 * Serve may add LISA's metadata to each entry, either at the top level or under `lisa`:
 *   modelType ("textgen" | "embedding"), streaming (bool), static (bool: from the stage's litellmConfig only).
 * Like LISA's UI, the chat picker leaves out static-only models (they are not managed through the admin API) and
 * embedding models; the embedding picker offers the embedding models. Entries without metadata count as
 * streaming-capable text models unless their names say embedding; for an admin, the admin API's `/models` list fills in what serve did not say
 * (a model serve routes that the admin API does not manage is static-only).
 */
import type { ModelRecord } from "../admin/modelPayload";

export interface ModelInfo {
  id: string;
  modelType: "textgen" | "embedding";
  streaming: boolean;
  static: boolean;
  /** Serve (or the admin API) said what the model is; false: the fields above are guesses. */
  known: boolean;
}

/** Serve said nothing: embedding models say what they are in their names (nomic-embed-text, bge-m3, all-MiniLM…). */
export function looksLikeEmbedding(id: string): boolean {
  return /embed|bge-|e5-|minilm|gte-/i.test(id);
}

function pick(entry: Record<string, any>, ...keys: string[]): unknown {
  const nested = entry.lisa && typeof entry.lisa === "object" ? entry.lisa : {};
  for (const key of keys) {
    if (key in entry) return entry[key];
    if (key in nested) return nested[key];
  }
  return undefined;
}

export function parseModelList(body: unknown): ModelInfo[] {
  const data = body && typeof body === "object" && Array.isArray((body as any).data) ? (body as any).data : [];
  const models: ModelInfo[] = [];
  for (const entry of data) {
    if (!entry || typeof entry !== "object" || typeof entry.id !== "string") continue;
    const type = pick(entry, "modelType", "model_type");
    const streaming = pick(entry, "streaming");
    const known = type === "textgen" || type === "embedding";
    const modelType = known ? type : looksLikeEmbedding(entry.id) ? "embedding" : "textgen";
    models.push({
      id: entry.id,
      modelType,
      streaming: typeof streaming === "boolean" ? streaming : modelType !== "embedding",
      static: pick(entry, "static", "isStatic") === true,
      known,
    });
  }
  return models.sort((a, b) => a.id.localeCompare(b.id));
}

export function chatModels(models: ModelInfo[]): ModelInfo[] {
  return models.filter((m) => m.modelType === "textgen" && !m.static);
}

export function embeddingModels(models: ModelInfo[]): ModelInfo[] {
  return models.filter((m) => m.modelType === "embedding");
}

/** The model to preselect: the one asked for if still offered, else the first. */
export function chooseModel(offered: ModelInfo[], wanted: string | null): string | null {
  if (wanted && offered.some((m) => m.id === wanted)) return wanted;
  return offered[0]?.id ?? null;
}

/** Fills in unknown models from the admin API's records; models serve routes that the admin API lacks are static. */
export function withAdminMetadata(models: ModelInfo[], records: ModelRecord[]): ModelInfo[] {
  const byId = new Map(records.map((r) => [r.modelId, r]));
  return models.map((m) => {
    if (m.known) return m;
    const record = byId.get(m.id);
    if (!record) return { ...m, static: true };
    return { ...m, modelType: record.modelType, streaming: record.streaming, static: false, known: true };
  });
}
