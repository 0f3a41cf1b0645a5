import { describe, expect, it } from "vitest";
import { DEFAULT_PARAMETERS, type ChatMessage } from "./conversation";
import { buildChatRequest, citationsFromSources, parameterProblems, ragProblems } from "./payload";

const history: ChatMessage[] = [{ id: "1", role: "user", content: "Hi", metadata: {} }];

describe("buildChatRequest", () => {
  it("puts the system prompt first and asks for usage when streaming", () => {
    const request = buildChatRequest({
      model: "m",
      systemPrompt: " Be brief. ",
      history,
      parameters: DEFAULT_PARAMETERS,
      modelStreams: true,
    });
    expect(request).toEqual({
      model: "m",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.7,
      top_p: 1,
    });
  });

  it("does not stream a model that cannot", () => {
    const request = buildChatRequest({
      model: "m",
      systemPrompt: "",
      history,
      parameters: DEFAULT_PARAMETERS,
      modelStreams: false,
    });
    expect([request.stream, "stream_options" in request]).toEqual([false, false]);
  });

  it("sends max_tokens only when set and leaves out unset parameters", () => {
    const parameters = { temperature: null, topP: null, maxTokens: 64, streaming: false };
    const request = buildChatRequest({ model: "m", systemPrompt: "", history, parameters, modelStreams: true });
    expect(request).toEqual({ model: "m", messages: [{ role: "user", content: "Hi" }], stream: false, max_tokens: 64 });
  });

  it("adds topK and embeddingModel for RAG", () => {
    const rag = { repositoryId: "docs", embeddingModel: "e", topK: 4 };
    const request = buildChatRequest({
      model: "m",
      systemPrompt: "",
      history,
      parameters: DEFAULT_PARAMETERS,
      modelStreams: true,
      rag,
    });
    expect([request.topK, request.embeddingModel]).toEqual([4, "e"]);
  });
});

describe("parameterProblems", () => {
  it("accepts the defaults", () => {
    expect(parameterProblems(DEFAULT_PARAMETERS)).toEqual([]);
  });

  it("names each value out of range", () => {
    expect(parameterProblems({ temperature: 3, topP: 0, maxTokens: 1.5, streaming: true })).toHaveLength(3);
  });

  it("refuses NaN from an emptied number field", () => {
    expect(parameterProblems({ ...DEFAULT_PARAMETERS, temperature: Number.NaN })).toEqual([
      "Temperature must be between 0 and 2.",
    ]);
  });
});

describe("ragProblems", () => {
  it("asks for an embedding model", () => {
    expect(ragProblems({ repositoryId: "docs", embeddingModel: "", topK: 3 })).toEqual([
      "Choose an embedding model for RAG.",
    ]);
  });

  it("has nothing to say when RAG is off", () => {
    expect(ragProblems(null)).toEqual([]);
  });
});

describe("citationsFromSources", () => {
  it("keeps one citation per document page in prompt order", () => {
    const sources = [
      { index: 2, documentId: "d2", documentName: "b.pdf", page: 3, score: 0.7 },
      { index: 1, documentId: "d1", documentName: "a.txt", page: null, score: 0.9, excerpt: "…" },
      { index: 3, documentId: "d2", documentName: "b.pdf", page: 3, score: 0.6 },
    ];
    expect(citationsFromSources(sources).map((c) => [c.documentName, c.page])).toEqual([
      ["a.txt", null],
      ["b.pdf", 3],
    ]);
  });

  it("gives nothing for a missing list", () => {
    expect(citationsFromSources(undefined)).toEqual([]);
  });
});
