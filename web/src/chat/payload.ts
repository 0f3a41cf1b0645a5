/**
 * The chat-completions request the UI sends, built from a conversation, and the checks on its parameters.
 * With RAG on, the same body goes to the api's `POST /repository/{id}/chat/completions` with `topK` and
 * `embeddingModel` added; its answer carries `sources`, which become the citations under the answer.
 */
import { asNumber, asString, isObject } from "../api/json";
import type { ChatRequest, ContentPart } from "../api/openai";
import type { Attachment, ChatMessage, ChatParameters, Citation, RagSettings } from "./conversation";

const MAX_STOP = 4;
const SEED_LIMIT = 2 ** 53 - 1;

function between(value: number | null, low: number, high: number): boolean {
  return value === null || (Number.isFinite(value) && value >= low && value <= high);
}

/** What is wrong with each parameter the OpenAI API would refuse, by parameter (shown next to its field). */
export function parameterErrors(parameters: ChatParameters): Partial<Record<keyof ChatParameters, string>> {
  const errors: Partial<Record<keyof ChatParameters, string>> = {};
  const p = parameters;
  if (!between(p.temperature, 0, 2)) errors.temperature = "Temperature must be between 0 and 2.";
  if (p.topP !== null && !(Number.isFinite(p.topP) && p.topP > 0 && p.topP <= 1))
    errors.topP = "Top p must be greater than 0 and at most 1.";
  if (p.maxTokens !== null && !(Number.isInteger(p.maxTokens) && p.maxTokens >= 1))
    errors.maxTokens = "Max tokens must be a whole number of at least 1.";
  if (!between(p.presencePenalty, -2, 2)) errors.presencePenalty = "Presence penalty must be between -2 and 2.";
  if (!between(p.frequencyPenalty, -2, 2)) errors.frequencyPenalty = "Frequency penalty must be between -2 and 2.";
  if (p.seed !== null && !(Number.isInteger(p.seed) && Math.abs(p.seed) <= SEED_LIMIT))
    errors.seed = "Seed must be a whole number.";
  if (p.stop.length > MAX_STOP) errors.stop = `At most ${MAX_STOP} stop sequences.`;
  else if (p.stop.some((s) => !s)) errors.stop = "Stop sequences cannot be empty.";
  if (p.historyBuffer !== null && !(Number.isInteger(p.historyBuffer) && p.historyBuffer >= 1))
    errors.historyBuffer = "History must be a whole number of messages, at least 1.";
  return errors;
}

/** One problem per parameter that the OpenAI API would refuse. */
export function parameterProblems(parameters: ChatParameters): string[] {
  return Object.values(parameterErrors(parameters));
}

/** The user's saved defaults (their preferences' `defaultParameters`) over the built-in ones; unset ones stay. */
export function withDefaults(parameters: ChatParameters, saved: Partial<Record<string, unknown>>): ChatParameters {
  const next = { ...parameters };
  for (const key of Object.keys(parameters) as (keyof ChatParameters)[]) {
    const value = saved[key];
    if (value === undefined || value === null || key === "streaming") continue;
    if (key === "stop" ? Array.isArray(value) : typeof value === typeof parameters[key] || parameters[key] === null)
      (next as Record<string, unknown>)[key] = value;
  }
  return next;
}

/** What the preferences keep of a chat's parameters (all but streaming, which follows the model). */
export function defaultsOf(parameters: ChatParameters): Record<string, unknown> {
  const { streaming: _streaming, ...rest } = parameters;
  return rest;
}

/** Stop sequences typed one per line. */
export function stopFromText(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** The text a question sends: what was typed, then each attached document in delimiters the model can see. */
export function questionText(content: string, attachments: Attachment[] = []): string {
  const documents = attachments.filter((a) => a.kind === "document");
  if (!documents.length) return content;
  const blocks = documents.map((d) => `<document name="${d.name}">\n${d.text}\n</document>`);
  return `${content}\n\n${blocks.join("\n\n")}`;
}

/** A message as the model sees it: text, or content parts when images go with it (OpenAI image parts). */
export function messageContent(message: ChatMessage): string | ContentPart[] {
  const attachments = message.metadata.attachments ?? [];
  const text = questionText(message.content, attachments);
  const images = attachments.filter((a) => a.kind === "image");
  if (!images.length) return text;
  return [{ type: "text", text }, ...images.map((i) => ({ type: "image_url" as const, image_url: { url: i.url } }))];
}

/** The past messages that go with a question: the last `historyBuffer` of them (all when null). */
export function withinBuffer(history: ChatMessage[], historyBuffer: number | null): ChatMessage[] {
  return historyBuffer === null || history.length <= historyBuffer ? history : history.slice(-historyBuffer);
}

export function ragProblems(rag: RagSettings | null): string[] {
  if (!rag) return [];
  const problems: string[] = [];
  if (!rag.repositoryId) problems.push("Choose a repository for RAG.");
  if (!rag.embeddingModel) problems.push("Choose an embedding model for RAG.");
  if (!(Number.isInteger(rag.topK) && rag.topK >= 1 && rag.topK <= 100))
    problems.push("Top K must be a whole number from 1 to 100.");
  return problems;
}

export function buildChatRequest(options: {
  model: string;
  systemPrompt: string;
  history: ChatMessage[];
  parameters: ChatParameters;
  /** The model can stream (from its metadata); false forces a single response. */
  modelStreams: boolean;
  rag?: RagSettings | null;
}): ChatRequest {
  const { model, systemPrompt, history, parameters, modelStreams, rag } = options;
  const messages: ChatRequest["messages"] = [];
  if (systemPrompt.trim()) messages.push({ role: "system", content: systemPrompt.trim() });
  for (const m of withinBuffer(history, parameters.historyBuffer)) {
    messages.push({ role: m.role, content: messageContent(m) });
  }
  const stream = parameters.streaming && modelStreams;
  const request: ChatRequest = { model, messages, stream };
  if (stream) request.stream_options = { include_usage: true };
  const p = parameters;
  if (p.temperature !== null) request.temperature = p.temperature;
  if (p.topP !== null) request.top_p = p.topP;
  if (p.maxTokens !== null) request.max_tokens = p.maxTokens;
  if (p.presencePenalty !== null) request.presence_penalty = p.presencePenalty;
  if (p.frequencyPenalty !== null) request.frequency_penalty = p.frequencyPenalty;
  if (p.seed !== null) request.seed = p.seed;
  if (p.stop.length) request.stop = p.stop;
  if (p.reasoningEffort) request.reasoning_effort = p.reasoningEffort;
  if (rag) {
    request.topK = rag.topK;
    request.embeddingModel = rag.embeddingModel;
  }
  return request;
}

/** Citations from the api's `sources`: one per document and page, in the order the prompt numbered them. */
export function citationsFromSources(sources: unknown): Citation[] {
  if (!Array.isArray(sources)) return [];
  const seen = new Map<string, Citation>();
  const ordered = sources.filter(isObject).sort((a, b) => (asNumber(a.index) ?? 0) - (asNumber(b.index) ?? 0));
  for (const s of ordered) {
    const citation: Citation = {
      documentId: asString(s.documentId),
      documentName: asString(s.documentName) ?? asString(s.source) ?? "document",
      page: asNumber(s.page) ?? null,
      score: asNumber(s.score) ?? null,
      excerpt: asString(s.excerpt),
    };
    const key = `${citation.documentId ?? citation.documentName}#${citation.page ?? ""}`;
    if (!seen.has(key)) seen.set(key, citation);
  }
  return [...seen.values()];
}
