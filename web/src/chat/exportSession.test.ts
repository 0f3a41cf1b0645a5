import { describe, expect, it } from "vitest";
import { appendDelta, beginTurn, completeTurn, newConversation, setCitations, stopTurn } from "./conversation";
import { exportFileName, toJson, toMarkdown } from "./exportSession";

function sample() {
  const base = { ...newConversation("s1", new Date("2026-01-01T00:00:00Z")), model: "m", systemPrompt: "Be brief." };
  const t1 = beginTurn(base, "What is LISA?");
  let c = completeTurn(appendDelta(t1.conversation, t1.assistantId, "An **LLM** platform."), t1.assistantId);
  c = setCitations(c, t1.assistantId, [{ documentName: "guide.pdf", page: 2 }]);
  const t2 = beginTurn(c, "More?");
  return stopTurn(appendDelta(t2.conversation, t2.assistantId, "Part"), t2.assistantId);
}

describe("toMarkdown", () => {
  it("writes title, system prompt, each message, sources and stops", () => {
    const md = toMarkdown(sample());
    expect(md).toContain("# What is LISA?");
    expect(md).toContain("## System prompt\n\nBe brief.");
    expect(md).toContain("## You\n\nWhat is LISA?");
    expect(md).toContain("## Assistant (m)\n\nAn **LLM** platform.");
    expect(md).toContain("- guide.pdf, page 2");
    expect(md).toContain("_(stopped)_");
  });
});

describe("toJson", () => {
  it("round-trips the messages without UI-only state", () => {
    const data = JSON.parse(toJson(sample())) as { sessionId: string; messages: { role: string; metadata: object }[] };
    expect(data.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(data.messages.some((m) => "pending" in m.metadata)).toBe(false);
    expect(data.sessionId).toBe("s1");
  });
});

describe("exportFileName", () => {
  it("slugs the title", () => {
    expect(exportFileName(sample(), "md")).toBe("what-is-lisa.md");
  });
});
