import { describe, expect, it } from "vitest";
import { chatModels, chooseModel, embeddingModels, parseModelList } from "./models";

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
    expect(parseModelList(list).map((m) => [m.id, m.modelType, m.streaming, m.static])).toEqual([
      ["alpha", "textgen", false, false],
      ["embed", "embedding", false, false],
      ["static-chat", "textgen", true, true],
      ["zeta", "textgen", true, false],
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
