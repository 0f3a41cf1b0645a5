import { describe, expect, it } from "vitest";
import type { SessionSummary } from "../api/clients";
import { appendDelta, beginTurn, completeTurn, newConversation, rename } from "../chat/conversation";
import {
  fromApiSession,
  newestFirst,
  searchByTitle,
  sessionTitle,
  toPutSession,
  upsertSummary,
} from "./sessionRecords";

const summaries: SessionSummary[] = [
  { sessionId: "a", name: "Old notes about pgvector", model: "m", lastUpdated: "2026-01-01T00:00:00Z" },
  {
    sessionId: "b",
    name: null,
    firstHumanMessage: "Tell me about OpenSearch",
    model: "m",
    lastUpdated: "2026-03-01T00:00:00Z",
  },
  { sessionId: "c", name: "Recipes", model: "m", lastUpdated: "2026-02-01T00:00:00Z" },
];

describe("session list", () => {
  it("orders newest first", () => {
    expect(newestFirst(summaries).map((s) => s.sessionId)).toEqual(["b", "c", "a"]);
  });

  it("finds by every word of the title, any case", () => {
    expect(searchByTitle(summaries, "PGVECTOR notes").map((s) => s.sessionId)).toEqual(["a"]);
  });

  it("searches the first question when there is no name", () => {
    expect(searchByTitle(summaries, "opensearch").map((s) => s.sessionId)).toEqual(["b"]);
  });

  it("shows everything for an empty query", () => {
    expect(searchByTitle(summaries, "  ")).toHaveLength(3);
  });

  it("titles an empty session", () => {
    expect(sessionTitle({ sessionId: "x", name: "", model: null, lastUpdated: "" })).toBe("Untitled chat");
  });

  it("puts a just-saved conversation on top", () => {
    const c = rename(
      newConversation("c", new Date("2026-04-01T00:00:00Z")),
      "Recipes v2",
      new Date("2026-04-01T00:00:00Z"),
    );
    const list = upsertSummary(summaries, c);
    expect(list.map((s) => [s.sessionId, s.name])[0]).toEqual(["c", "Recipes v2"]);
    expect(list).toHaveLength(3);
  });
});

describe("session records", () => {
  it("round-trips a conversation through the api shape", () => {
    const base = {
      ...newConversation("s1"),
      model: "m",
      systemPrompt: "sys",
      rag: { repositoryId: "docs", embeddingModel: "e", topK: 3 },
    };
    const turn = beginTurn(base, "Hi");
    const c = completeTurn(appendDelta(turn.conversation, turn.assistantId, "Echo: Hi"), turn.assistantId, {
      finishReason: "stop",
    });
    const put = toPutSession(c);
    const back = fromApiSession({
      sessionId: "s1",
      userId: "u",
      history: put.messages,
      name: put.name,
      model: put.model,
      configuration: put.configuration ?? {},
      createTime: c.createdAt,
      lastUpdated: c.updatedAt,
    });
    expect(back).toEqual(c);
  });

  it("reads LISA's human/ai message types and content parts", () => {
    const c = fromApiSession({
      sessionId: "s",
      userId: "u",
      name: null,
      model: null,
      configuration: {},
      history: [
        { type: "human", content: [{ type: "text", text: "Hi" }] },
        { type: "ai", content: "Hello" },
      ],
    });
    expect(c.messages.map((m) => [m.role, m.content])).toEqual([
      ["user", "Hi"],
      ["assistant", "Hello"],
    ]);
  });

  it("keeps attachments, tools, feedback and the version across a save", () => {
    const base = { ...newConversation("s2"), model: "m", mcpServers: ["srv1"], version: 4 };
    const turn = beginTurn(base, "Read these", new Date(), [
      { kind: "document", name: "r.pdf", text: "[page 1]\nHi", chars: 11, totalChars: 11, truncated: false },
      { kind: "image", name: "cat.png", url: "data:image/png;base64,AAA", s3Key: "images/u/s2/a.png" },
    ]);
    const c = completeTurn(appendDelta(turn.conversation, turn.assistantId, "Done"), turn.assistantId);
    const put = toPutSession(c);
    expect(put.version).toBe(4);
    const question = put.messages[0];
    expect(question.content).toEqual([
      { type: "text", text: "Read these" },
      {
        type: "image_url",
        image_url: { url: "data:image/png;base64,AAA" },
        s3_key: "images/u/s2/a.png",
        name: "cat.png",
      },
    ]);
    const back = fromApiSession({
      sessionId: "s2",
      userId: "u",
      history: put.messages,
      name: put.name,
      model: put.model,
      configuration: put.configuration ?? {},
      version: 5,
      feedback: { [turn.assistantId]: { rating: "down", comment: "too short" } },
    });
    expect(back.messages[0].metadata.attachments?.map((a) => a.kind)).toEqual(["document", "image"]);
    expect([back.version, back.mcpServers, back.feedback[turn.assistantId]]).toEqual([
      5,
      ["srv1"],
      { rating: "down", comment: "too short" },
    ]);
  });
});
