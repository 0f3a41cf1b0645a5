/**
 * The chat-completions request the UI sends, built from a conversation, and the checks on its parameters.
 * With RAG on, the same body goes to the api's `POST /repository/{id}/chat/completions` with `topK` and
 * `embeddingModel` added; its answer carries `sources`, which become the citations under the answer.
 */
import { asNumber, asString, isObject } from "../api/json";
import type { ChatRequest } from "../api/openai";
import type { ChatMessage, ChatParameters, Citation, RagSettings } from "./conversation";

/** One problem per parameter that the OpenAI API would refuse. */
export function parameterProblems(parameters: ChatParameters): string[] {
  const problems: string[] = [];
  const { temperature, topP, maxTokens } = parameters;
  if (temperature !== null && !(Number.isFinite(temperature) && temperature >= 0 && temperature <= 2)) {
    problems.push("Temperature must be between 0 and 2.");
  }
  if (topP !== null && !(Number.isFinite(topP) && topP > 0 && topP <= 1)) {
    problems.push("Top p must be greater than 0 and at most 1.");
  }
  if (maxTokens !== null && !(Number.isInteger(maxTokens) && maxTokens >= 1)) {
    problems.push("Max tokens must be a whole number of at least 1.");
  }
  return problems;
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
  for (const m of history) messages.push({ role: m.role, content: m.content });
  const stream = parameters.streaming && modelStreams;
  const request: ChatRequest = { model, messages, stream };
  if (stream) request.stream_options = { include_usage: true };
  if (parameters.temperature !== null) request.temperature = parameters.temperature;
  if (parameters.topP !== null) request.top_p = parameters.topP;
  if (parameters.maxTokens !== null) request.max_tokens = parameters.maxTokens;
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
