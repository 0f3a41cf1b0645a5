import { describe, expect, it } from "vitest";
import {
  appendDelta,
  beginTurn,
  completeTurn,
  editAndResend,
  failTurn,
  forSaving,
  historyBefore,
  isStreaming,
  newConversation,
  regenerate,
  rename,
  stopTurn,
  titleFrom,
  type Conversation,
} from "./conversation";

const T0 = new Date("2026-01-01T00:00:00Z");
const T1 = new Date("2026-01-01T00:01:00Z");

function answered(
  question: string,
  answer: string,
  base: Conversation = { ...newConversation("s1", T0), model: "m" },
): Conversation {
  const turn = beginTurn(base, question, T0);
  return completeTurn(
    appendDelta(turn.conversation, turn.assistantId, answer, T0),
    turn.assistantId,
    { finishReason: "stop" },
    T0,
  );
}

describe("a turn", () => {
  it("adds the question and a pending answer tagged with the model", () => {
    const { conversation, assistantId } = beginTurn({ ...newConversation("s1", T0), model: "m" }, "Hi", T1);
    expect(conversation.messages.map((m) => [m.role, m.content])).toEqual([
      ["user", "Hi"],
      ["assistant", ""],
    ]);
    expect(conversation.messages[1]).toMatchObject({ id: assistantId, metadata: { pending: true, model: "m" } });
    expect(isStreaming(conversation)).toBe(true);
    expect(conversation.updatedAt).toBe(T1.toISOString());
  });

  it("titles the session from the first question only", () => {
    const first = answered("What is RAG?", "x");
    const second = beginTurn(first, "And pgvector?").conversation;
    expect(second.title).toBe("What is RAG?");
  });

  it("appends streamed text in order", () => {
    const { conversation, assistantId } = beginTurn(newConversation(), "q");
    const after = ["Echo", ":", " q"].reduce((c, t) => appendDelta(c, assistantId, t), conversation);
    expect(after.messages[1].content).toBe("Echo: q");
  });

  it("completes with finish reason and clears pending", () => {
    const c = answered("q", "a");
    expect(c.messages[1].metadata).toEqual({ model: "m", finishReason: "stop", usage: null });
    expect(isStreaming(c)).toBe(false);
  });

  it("keeps the partial answer and marks it stopped on Stop", () => {
    const { conversation, assistantId } = beginTurn(newConversation(), "q");
    const stopped = stopTurn(appendDelta(conversation, assistantId, "part"), assistantId);
    expect(stopped.messages[1]).toMatchObject({ content: "part", metadata: { stopped: true } });
    expect(isStreaming(stopped)).toBe(false);
  });

  it("records the server's error on failure", () => {
    const { conversation, assistantId } = beginTurn(newConversation(), "q");
    expect(failTurn(conversation, assistantId, "stand-in fault 500").messages[1].metadata.error).toBe(
      "stand-in fault 500",
    );
  });

  it("ignores updates for an unknown message", () => {
    const c = answered("q", "a");
    expect(appendDelta(c, "nope", "x")).toBe(c);
  });
});

describe("regenerate", () => {
  it("replaces the last answer with a new pending one", () => {
    const c = answered("q2", "a2", answered("q1", "a1"));
    const turn = regenerate(c)!;
    expect(turn.conversation.messages.map((m) => m.content)).toEqual(["q1", "a1", "q2", ""]);
    expect(turn.conversation.messages[3].id).toBe(turn.assistantId);
  });

  it("is refused while an answer is streaming", () => {
    expect(regenerate(beginTurn(newConversation(), "q").conversation)).toBeNull();
  });

  it("is refused without a question", () => {
    expect(regenerate(newConversation())).toBeNull();
  });
});

describe("edit and resend", () => {
  it("changes the question and forgets everything after it", () => {
    const c = answered("q2", "a2", answered("q1", "a1"));
    const turn = editAndResend(c, c.messages[0].id, "q1 edited")!;
    expect(turn.conversation.messages.map((m) => m.content)).toEqual(["q1 edited", ""]);
  });

  it("retitles when the title was derived from the edited first question", () => {
    const c = answered("q1", "a1");
    expect(editAndResend(c, c.messages[0].id, "better question")!.conversation.title).toBe("better question");
  });

  it("keeps a title the user chose", () => {
    const c = rename(answered("q1", "a1"), "My title");
    expect(editAndResend(c, c.messages[0].id, "other")!.conversation.title).toBe("My title");
  });

  it("refuses to edit an answer or to send empty text", () => {
    const c = answered("q1", "a1");
    expect(editAndResend(c, c.messages[1].id, "x")).toBeNull();
    expect(editAndResend(c, c.messages[0].id, "  ")).toBeNull();
  });
});

describe("history sent to the model", () => {
  it("leaves out failed and empty answers and the pending one", () => {
    const first = beginTurn(newConversation(), "q1");
    const failed = failTurn(first.conversation, first.assistantId, "boom");
    const second = beginTurn(failed, "q2");
    expect(historyBefore(second.conversation, second.assistantId).map((m) => m.content)).toEqual(["q1", "q2"]);
  });
});

describe("saving", () => {
  it("saves a still-pending answer as stopped", () => {
    const { conversation } = beginTurn(newConversation(), "q");
    const saved = forSaving(conversation).messages[1].metadata;
    expect([saved.pending, saved.stopped]).toEqual([undefined, true]);
  });
});

describe("titleFrom", () => {
  it("cuts long questions at a word boundary", () => {
    const title = titleFrom("word ".repeat(40));
    expect(title.length).toBeLessThanOrEqual(61);
    expect(title.endsWith("word…")).toBe(true);
  });

  it("flattens whitespace", () => {
    expect(titleFrom("  a\n\nb  ")).toBe("a b");
  });
});
