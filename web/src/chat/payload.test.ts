import { describe, expect, it } from "vitest";
import { DEFAULT_PARAMETERS, type ChatMessage } from "./conversation";
import {
  buildChatRequest,
  citationsFromSources,
  messageContent,
  parameterErrors,
  parameterProblems,
  ragProblems,
  stopFromText,
  withDefaults,
  withinBuffer,
} from "./payload";

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
    const parameters = { ...DEFAULT_PARAMETERS, temperature: null, topP: null, maxTokens: 64, streaming: false };
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
    expect(parameterProblems({ ...DEFAULT_PARAMETERS, temperature: 3, topP: 0, maxTokens: 1.5 })).toHaveLength(3);
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

describe("the parameters people expect", () => {
  it("sends penalties, seed, stop and reasoning effort under OpenAI's names", () => {
    const parameters = {
      ...DEFAULT_PARAMETERS,
      presencePenalty: 0.5,
      frequencyPenalty: -1,
      seed: 42,
      stop: ["END", "###"],
      reasoningEffort: "low" as const,
    };
    const request = buildChatRequest({ model: "m", systemPrompt: "", history, parameters, modelStreams: false });
    expect(request).toMatchObject({
      presence_penalty: 0.5,
      frequency_penalty: -1,
      seed: 42,
      stop: ["END", "###"],
      reasoning_effort: "low",
    });
  });

  it("names each bad value by its field", () => {
    const errors = parameterErrors({
      ...DEFAULT_PARAMETERS,
      presencePenalty: 3,
      frequencyPenalty: -2.5,
      seed: 1.5,
      stop: ["a", "b", "c", "d", "e"],
      historyBuffer: 0,
    });
    expect(Object.keys(errors).sort()).toEqual([
      "frequencyPenalty",
      "historyBuffer",
      "presencePenalty",
      "seed",
      "stop",
    ]);
  });

  it("keeps only the last messages of the history buffer", () => {
    const long: ChatMessage[] = ["a", "b", "c", "d"].map((id, i) => ({
      id,
      role: i % 2 ? "assistant" : "user",
      content: id,
      metadata: {},
    }));
    expect(withinBuffer(long, 3).map((m) => m.id)).toEqual(["b", "c", "d"]);
    expect(withinBuffer(long, null)).toHaveLength(4);
  });

  it("reads stop sequences one per line", () => {
    expect(stopFromText("END\n\n###")).toEqual(["END", "###"]);
  });
});

describe("attachments in a question", () => {
  it("puts documents in delimiters after the question and images as image parts", () => {
    const message: ChatMessage = {
      id: "q",
      role: "user",
      content: "Summarise this document.",
      metadata: {
        attachments: [
          { kind: "document", name: "r.pdf", text: "[page 1]\nHello", chars: 15, totalChars: 15, truncated: false },
          { kind: "image", name: "cat.png", url: "data:image/png;base64,AAA", s3Key: "images/u/s/1.png" },
        ],
      },
    };
    expect(messageContent(message)).toEqual([
      { type: "text", text: 'Summarise this document.\n\n<document name="r.pdf">\n[page 1]\nHello\n</document>' },
      { type: "image_url", image_url: { url: "data:image/png;base64,AAA" } },
    ]);
  });
});

describe("the user's default parameters", () => {
  it("take over the built-in ones where set and of the right kind", () => {
    const merged = withDefaults(DEFAULT_PARAMETERS, {
      temperature: 0.2,
      seed: 7,
      stop: ["END"],
      topP: "high",
      streaming: false,
      reasoningEffort: "low",
      historyBuffer: null,
    });
    expect(merged).toEqual({ ...DEFAULT_PARAMETERS, temperature: 0.2, seed: 7, stop: ["END"], reasoningEffort: "low" });
  });
});
