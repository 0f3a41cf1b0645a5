import { describe, expect, it } from "vitest";
import type { Repository } from "../api/clients";
import { modelRecord } from "../api/modelRecord.fixture";
import { parseModelList, type ModelInfo } from "../api/openai";
import { chatModels, chooseModel, embeddingModels, repositoryEmbeddingModel, withAdminMetadata } from "./models";

const model = (id: string, fields: Partial<ModelInfo> = {}): ModelInfo => ({
  id,
  modelType: "textgen",
  streaming: true,
  static: false,
  known: true,
  ...fields,
});
const models = [
  model("alpha", { streaming: false }),
  model("embed", { modelType: "embedding", streaming: false }),
  model("static-chat", { static: true }),
  model("zeta", { known: false }),
];

describe("pickers", () => {
  it("offers text models that are not static-only for chat", () => {
    expect(chatModels(models).map((m) => m.id)).toEqual(["alpha", "zeta"]);
  });

  it("offers embedding models for RAG", () => {
    expect(embeddingModels(models).map((m) => m.id)).toEqual(["embed"]);
  });

  it("keeps the wanted model if offered, else the first", () => {
    const offered = chatModels(models);
    expect(chooseModel(offered, "zeta")).toBe("zeta");
    expect(chooseModel(offered, "gone")).toBe("alpha");
    expect(chooseModel([], "x")).toBeNull();
  });
});

describe("withAdminMetadata", () => {
  const bare = parseModelList({
    data: [{ id: "managed" }, { id: "from-config" }, { id: "embed", modelType: "embedding" }],
  });
  const records = [modelRecord({ modelId: "managed", modelType: "embedding", streaming: false })];

  it("takes type and streaming of models the admin API manages", () => {
    expect(withAdminMetadata(bare, records).find((m) => m.id === "managed")).toEqual({
      id: "managed",
      modelType: "embedding",
      streaming: false,
      static: false,
      known: true,
    });
  });

  it("marks models the admin API does not manage as static-only", () => {
    const merged = withAdminMetadata(bare, records);
    expect(merged.find((m) => m.id === "from-config")!.static).toBe(true);
    expect(chatModels(merged).map((m) => m.id)).toEqual([]);
  });

  it("keeps what serve already said", () => {
    expect(withAdminMetadata(bare, records).find((m) => m.id === "embed")!.known).toBe(true);
  });
});

describe("repositoryEmbeddingModel", () => {
  const offered = parseModelList({
    data: [
      { id: "e5-small", modelType: "embedding" },
      { id: "bge-m3", modelType: "embedding" },
    ],
  });
  const repository = (fields: Partial<Repository>): Repository => ({
    repositoryId: "r",
    type: "pgvector",
    status: "CREATE_COMPLETE",
    allowedGroups: [],
    chunkSize: 512,
    chunkOverlap: 51,
    defaultEmbeddingModel: null,
    ...fields,
  });

  it("keeps the model a repository's vectors were made with, offered or not", () => {
    expect(
      repositoryEmbeddingModel(repository({ embeddingModel: "gone", defaultEmbeddingModel: "e5-small" }), offered),
    ).toBe("gone");
  });

  it("takes the repository's default when it is offered, else the first offered", () => {
    expect(repositoryEmbeddingModel(repository({ defaultEmbeddingModel: "e5-small" }), offered)).toBe("e5-small");
    expect(repositoryEmbeddingModel(repository({ defaultEmbeddingModel: "gone" }), offered)).toBe("bge-m3");
  });

  it("falls back to the default, then nothing, when no model is offered", () => {
    expect(repositoryEmbeddingModel(repository({ defaultEmbeddingModel: "gone" }), [])).toBe("gone");
    expect(repositoryEmbeddingModel(undefined, [])).toBe("");
  });
});
