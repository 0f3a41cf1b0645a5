import { describe, expect, it } from "vitest";
import { chatModels, chooseModel, embeddingModels, parseModelList, withAdminMetadata } from "./models";

const list = {
  object: "list",
  data: [
    { id: "zeta", object: "model", created: 1, owned_by: "lisa" },
    { id: "static-chat", object: "model", lisa: { modelType: "textgen", streaming: true, static: true } },
    { id: "embed", object: "model", model_type: "embedding", streaming: false },
    { id: "alpha", object: "model", modelType: "textgen", streaming: false },
  ],
};

describe("parseModelList", () => {
  it("reads metadata at the top level or under lisa, sorted by id", () => {
    expect(parseModelList(list).map((m) => [m.id, m.modelType, m.streaming, m.static, m.known])).toEqual([
      ["alpha", "textgen", false, false, true],
      ["embed", "embedding", false, false, true],
      ["static-chat", "textgen", true, true, true],
      ["zeta", "textgen", true, false, false],
    ]);
  });

  it("guesses embedding models by name when serve says nothing", () => {
    const models = parseModelList({ data: [{ id: "all-minilm-l6-v2" }, { id: "nomic-embed-text" }, { id: "llama3" }] });
    expect(models.map((m) => [m.id, m.modelType, m.streaming, m.known])).toEqual([
      ["all-minilm-l6-v2", "embedding", false, false],
      ["llama3", "textgen", true, false],
      ["nomic-embed-text", "embedding", false, false],
    ]);
  });

  it("skips entries without an id and survives a non-list body", () => {
    expect(parseModelList({ data: [{ object: "model" }] })).toEqual([]);
    expect(parseModelList(null)).toEqual([]);
  });
});

describe("pickers", () => {
  it("offers text models that are not static-only for chat", () => {
    expect(chatModels(parseModelList(list)).map((m) => m.id)).toEqual(["alpha", "zeta"]);
  });

  it("offers embedding models for RAG", () => {
    expect(embeddingModels(parseModelList(list)).map((m) => m.id)).toEqual(["embed"]);
  });

  it("keeps the wanted model if offered, else the first", () => {
    const offered = chatModels(parseModelList(list));
    expect(chooseModel(offered, "zeta")).toBe("zeta");
    expect(chooseModel(offered, "gone")).toBe("alpha");
    expect(chooseModel([], "x")).toBeNull();
  });
});

describe("withAdminMetadata", () => {
  const bare = parseModelList({
    data: [{ id: "managed" }, { id: "from-config" }, { id: "embed", modelType: "embedding" }],
  });
  const records = [
    {
      modelId: "managed",
      modelName: "openai/x",
      modelType: "embedding" as const,
      streaming: false,
      status: "InService" as const,
    },
  ];

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
