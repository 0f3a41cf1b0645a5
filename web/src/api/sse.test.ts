import { describe, expect, it } from "vitest";
import { chatDeltaFromEvent, readChatStream, SseParser, type ChatDelta } from "./sse";

const chunk = (content: string, finish: string | null = null) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;

function streamOf(parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

describe("SseParser", () => {
  it("yields one event per blank-line-terminated block", () => {
    const events = new SseParser().push("data: a\n\ndata: b\n\n");
    expect(events.map((e) => e.data)).toEqual(["a", "b"]);
  });

  it("joins an event split across pushes at any character", () => {
    const text = chunk("Hello") + chunk(" world");
    const parser = new SseParser();
    const datas: string[] = [];
    for (const ch of text) datas.push(...parser.push(ch).map((e) => e.data));
    expect(datas.map((d) => chatDeltaFromEvent({ event: "message", data: d }).content)).toEqual(["Hello", " world"]);
  });

  it("accepts CRLF and CR line endings, including a CRLF split between pushes", () => {
    const parser = new SseParser();
    const events = [...parser.push("data: one\r"), ...parser.push("\n\r\ndata: two\r\r"), ...parser.end()];
    expect(events.map((e) => e.data)).toEqual(["one", "two"]);
  });

  it("joins multi-line data with newlines and ignores comments", () => {
    const events = new SseParser().push(": keep-alive\ndata: line1\ndata: line2\n\n");
    expect(events).toEqual([{ event: "message", data: "line1\nline2" }]);
  });

  it("keeps the event name", () => {
    expect(new SseParser().push("event: error\ndata: x\n\n")[0].event).toBe("error");
  });

  it("flushes a final event that lacks its blank line at end()", () => {
    const parser = new SseParser();
    expect(parser.push("data: [DONE]")).toEqual([]);
    expect(parser.end().map((e) => e.data)).toEqual(["[DONE]"]);
  });
});

describe("chatDeltaFromEvent", () => {
  it("reads content and finish reason", () => {
    const delta = chatDeltaFromEvent({ event: "message", data: chunk("Hi", "stop").slice(6).trim() });
    expect([delta.content, delta.finishReason, delta.done]).toEqual(["Hi", "stop", false]);
  });

  it("marks [DONE]", () => {
    expect(chatDeltaFromEvent({ event: "message", data: "[DONE]" }).done).toBe(true);
  });

  it("reads the usage chunk with empty choices", () => {
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
    const delta = chatDeltaFromEvent({ event: "message", data: JSON.stringify({ choices: [], usage }) });
    expect([delta.content, delta.usage]).toEqual(["", usage]);
  });

  it("reports an OpenAI error object sent inside the stream", () => {
    const data = JSON.stringify({ error: { message: "upstream overloaded", type: "server_error" } });
    expect(chatDeltaFromEvent({ event: "message", data }).error).toBe("upstream overloaded");
  });

  it("reports data that is not JSON as an error", () => {
    expect(chatDeltaFromEvent({ event: "message", data: "<html>" }).error).toMatch(/not JSON/);
  });

  it("carries RAG sources from the first chunk", () => {
    const data = JSON.stringify({
      choices: [{ delta: { role: "assistant", content: "" } }],
      sources: [{ index: 1, documentName: "a.txt" }],
    });
    expect(chatDeltaFromEvent({ event: "message", data }).sources).toEqual([{ index: 1, documentName: "a.txt" }]);
  });
});

describe("readChatStream", () => {
  it("delivers every token in order and stops at [DONE]", async () => {
    const deltas: ChatDelta[] = [];
    await readChatStream(
      streamOf([
        chunk("Echo:"),
        chunk(" hi", null).slice(0, 10),
        chunk(" hi").slice(10),
        chunk("", "stop"),
        "data: [DONE]\n\n",
        chunk("late"),
      ]),
      (d) => deltas.push(d),
    );
    expect(deltas.map((d) => d.content).join("")).toBe("Echo: hi");
    expect(deltas.at(-1)!.done).toBe(true);
  });

  it("ends without [DONE] when the body ends", async () => {
    const deltas: ChatDelta[] = [];
    await readChatStream(streamOf([chunk("partial")]), (d) => deltas.push(d));
    expect(deltas.map((d) => [d.content, d.done])).toEqual([["partial", false]]);
  });
});
