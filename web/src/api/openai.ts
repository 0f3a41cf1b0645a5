/**
 * The OpenAI shapes serve speaks that the UI sends or reads: the chat-completions request, and the model list
 * (`GET /v2/serve/models`, OpenAI's list object).
 *
 * Serve may add LISA's metadata to each model entry, either at the top level or under `lisa`:
 *   modelType ("textgen" | "embedding"), streaming (bool), static (bool: from the stage's litellmConfig only).
 * Entries without metadata count as streaming-capable text models unless their names say embedding.
 */
import { asObject, asString, isObject, type JsonObject } from "./json";

/** The chat-completions body; with RAG on, the api's repository chat takes the same body plus `topK`/`embeddingModel`. */
export type ContentPart = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } };

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string | ContentPart[] }[];
  stream: boolean;
  stream_options?: { include_usage: boolean };
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  stop?: string[];
  reasoning_effort?: string;
  topK?: number;
  embeddingModel?: string;
}

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

function pick(entry: JsonObject, ...keys: string[]): unknown {
  const nested = asObject(entry.lisa);
  for (const key of keys) {
    if (key in entry) return entry[key];
    if (key in nested) return nested[key];
  }
  return undefined;
}

export function parseModelList(body: unknown): ModelInfo[] {
  const data = asObject(body).data;
  const models: ModelInfo[] = [];
  for (const entry of Array.isArray(data) ? data.filter(isObject) : []) {
    const id = asString(entry.id);
    if (id === undefined) continue;
    const type = pick(entry, "modelType", "model_type");
    const streaming = pick(entry, "streaming");
    const known = type === "textgen" || type === "embedding";
    const modelType = known ? type : looksLikeEmbedding(id) ? "embedding" : "textgen";
    models.push({
      id,
      modelType,
      streaming: typeof streaming === "boolean" ? streaming : modelType !== "embedding",
      static: pick(entry, "static", "isStatic") === true,
      known,
    });
  }
  return models.sort((a, b) => a.id.localeCompare(b.id));
}
