import { describe, expect, it } from "vitest";
import { parseModelList } from "./openai";

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
