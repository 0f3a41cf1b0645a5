/**
 * Server-sent events as OpenAI streams them: `data: <json>` events separated by a blank line, ending with
 * `data: [DONE]`. The parser is incremental because network chunks split events (and lines) anywhere.
 */
import { asNumber, asObject, asString, isObject, parseJson, type JsonObject } from "./json";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface SseEvent {
  event: string;
  data: string;
}

export class SseParser {
  private buffer = "";
  private dataLines: string[] = [];
  private eventName = "";

  /** Feeds decoded text; returns the events completed by it. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    let newline: number;
    while ((newline = this.nextLineBreak()) >= 0) {
      let line = this.buffer.slice(0, newline);
      const skip = this.buffer[newline] === "\r" && this.buffer[newline + 1] === "\n" ? 2 : 1;
      this.buffer = this.buffer.slice(newline + skip);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** Flushes an event left without its closing blank line when the stream ends. */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.buffer) {
      const event = this.line(this.buffer.replace(/\r$/, ""));
      this.buffer = "";
      if (event) events.push(event);
    }
    const last = this.dispatch();
    if (last) events.push(last);
    return events;
  }

  private nextLineBreak(): number {
    const lf = this.buffer.indexOf("\n");
    const cr = this.buffer.indexOf("\r");
    // A lone CR at the very end may be the first half of CRLF: wait for more text.
    if (cr >= 0 && (lf < 0 || cr < lf)) return cr === this.buffer.length - 1 ? -1 : cr;
    return lf;
  }

  private line(line: string): SseEvent | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.dataLines.push(value);
    else if (field === "event") this.eventName = value;
    return null;
  }

  private dispatch(): SseEvent | null {
    if (this.dataLines.length === 0) {
      this.eventName = "";
      return null;
    }
    const event = { event: this.eventName || "message", data: this.dataLines.join("\n") };
    this.dataLines = [];
    this.eventName = "";
    return event;
  }
}

export interface ChatDelta {
  content: string;
  finishReason: string | null;
  usage: Usage | null;
  /** An error object sent inside the stream (some upstreams do this after a 200). */
  error: string | null;
  /** RAG sources the api puts on the first chunk of a repository chat stream. */
  sources: unknown[] | null;
  /** A tool event of the api's chat with tools (a chunk with empty choices and `tool_event`). */
  toolEvent: JsonObject | null;
  done: boolean;
}

/** Interprets one SSE event of a chat-completions stream. */
export function chatDeltaFromEvent(event: SseEvent): ChatDelta {
  const empty: ChatDelta = {
    content: "",
    finishReason: null,
    usage: null,
    error: null,
    sources: null,
    toolEvent: null,
    done: false,
  };
  if (event.data.trim() === "[DONE]") return { ...empty, done: true };
  const chunk = parseJson(event.data);
  if (chunk === undefined) {
    return { ...empty, error: `the stream sent something that is not JSON: ${event.data.slice(0, 120)}` };
  }
  const body = asObject(chunk);
  if (body.error) {
    const message = asString(body.error) ?? asString(asObject(body.error).message) ?? JSON.stringify(body.error);
    return { ...empty, error: message };
  }
  const choice = asObject(Array.isArray(body.choices) ? body.choices[0] : undefined);
  return {
    ...empty,
    content: asString(asObject(choice.delta).content) ?? asString(choice.text) ?? "",
    finishReason: asString(choice.finish_reason) ?? null,
    usage: usageOf(body.usage),
    sources: Array.isArray(body.sources) ? body.sources : null,
    toolEvent: isObject(body.tool_event) ? body.tool_event : null,
  };
}

/** OpenAI's token counts, when the answer carries them. */
export function usageOf(value: unknown): Usage | null {
  const u = asObject(value);
  const prompt = asNumber(u.prompt_tokens);
  const completion = asNumber(u.completion_tokens);
  if (prompt === undefined || completion === undefined) return null;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: asNumber(u.total_tokens) ?? prompt + completion,
  };
}

/** Reads a fetch Response body as a chat stream, calling `onDelta` for each chunk, until [DONE] or the end. */
export async function readChatStream(
  body: ReadableStream<Uint8Array>,
  onDelta: (delta: ChatDelta) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      const events = done
        ? parser.push(decoder.decode()).concat(parser.end())
        : parser.push(decoder.decode(value, { stream: true }));
      for (const event of events) {
        const delta = chatDeltaFromEvent(event);
        onDelta(delta);
        if (delta.done) return;
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
