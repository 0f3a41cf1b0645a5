/**
 * Which models a user can chat with or embed with, from serve's model list (api/openai.ts).
 * Like LISA's UI, the chat picker leaves out static-only models (they are not managed through the admin API) and
 * embedding models; the embedding picker offers the embedding models. For an admin, the admin API's `/models` list
 * fills in what serve did not say (a model serve routes that the admin API does not manage is static-only).
 */
import type { ModelRecord } from "../api/clients";
import type { Repository } from "../api/clients";
import type { ModelInfo } from "../api/openai";

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

/**
 * The embedding model to use with a repository: its own once it holds vectors (their dimension is fixed), else its
 * default when offered, else the first offered.
 */
export function repositoryEmbeddingModel(repository: Repository | undefined, offered: ModelInfo[]): string {
  if (repository?.embeddingModel) return repository.embeddingModel;
  const preferred = repository?.defaultEmbeddingModel;
  if (preferred && offered.some((m) => m.id === preferred)) return preferred;
  return offered[0]?.id ?? preferred ?? "";
}
