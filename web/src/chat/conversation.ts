/**
 * The state of one chat session and every change the chat screen makes to it, as pure functions
 * (each returns a new Conversation). Streaming, stopping, regenerating and edit-and-resend all go through here.
 */
import type { Usage } from "../api/sse";
import { newId } from "./ids";
import type { ToolCallView } from "./toolEvents";

export type Role = "system" | "user" | "assistant";

export interface Citation {
  documentId?: string;
  documentName: string;
  page?: number | null;
  score?: number | null;
  excerpt?: string;
}

export interface MessageMeta {
  model?: string;
  citations?: Citation[];
  /** The error the model's server gave, shown instead of an answer. */
  error?: string;
  /** The user stopped the answer; what arrived before is kept. */
  stopped?: boolean;
  finishReason?: string | null;
  usage?: Usage | null;
  /** Still streaming (never saved). */
  pending?: boolean;
  /** The tools the model called for this answer (chat with MCP connections). */
  toolCalls?: ToolCallView[];
  /** What went wrong around the tools without stopping the answer (a connection down, the round limit). */
  toolNotices?: string[];
  /** Files attached to a question. */
  attachments?: Attachment[];
}

/** A document's text put into the question, or an image sent with it (kept in S3 with the session). */
export type Attachment =
  | {
      kind: "document";
      name: string;
      text: string;
      chars: number;
      totalChars: number;
      truncated: boolean;
      notice?: string | null;
    }
  | { kind: "image"; name: string; url: string; s3Key: string };

export interface ChatMessage {
  id: string;
  role: Role;
  content: string;
  metadata: MessageMeta;
}

export interface FeedbackState {
  rating: "up" | "down";
  comment: string;
}

export type ReasoningEffort = "minimal" | "low" | "medium" | "high";

export interface ChatParameters {
  temperature: number | null;
  topP: number | null;
  maxTokens: number | null;
  streaming: boolean;
  presencePenalty: number | null;
  frequencyPenalty: number | null;
  seed: number | null;
  /** Up to four sequences where the model stops. */
  stop: string[];
  /** For reasoning models; null: the model's default. */
  reasoningEffort: ReasoningEffort | null;
  /** How many past messages go with a question (LISA's chat history buffer); null: all. */
  historyBuffer: number | null;
}

export interface RagSettings {
  repositoryId: string;
  embeddingModel: string;
  topK: number;
}

export interface Conversation {
  sessionId: string;
  title: string;
  model: string | null;
  systemPrompt: string;
  parameters: ChatParameters;
  /** null: answer without retrieval. */
  rag: RagSettings | null;
  messages: ChatMessage[];
  createdAt: string;
  updatedAt: string;
  /** MCP connections whose tools the model may call; empty: plain chat. */
  mcpServers: string[];
  /** Thumbs up or down per answer (messageId). */
  feedback: Record<string, FeedbackState>;
  /** The session's version as last read or saved (null: never saved): a save based on an older one is refused. */
  version: number | null;
}

export const DEFAULT_PARAMETERS: ChatParameters = {
  temperature: 0.7,
  topP: 1,
  maxTokens: null,
  streaming: true,
  presencePenalty: null,
  frequencyPenalty: null,
  seed: null,
  stop: [],
  reasoningEffort: null,
  historyBuffer: null,
};
export const TITLE_LENGTH = 60;

export function newConversation(sessionId: string = newId(), now: Date = new Date()): Conversation {
  const stamp = now.toISOString();
  return {
    sessionId,
    title: "",
    model: null,
    systemPrompt: "",
    parameters: { ...DEFAULT_PARAMETERS },
    rag: null,
    messages: [],
    createdAt: stamp,
    updatedAt: stamp,
    mcpServers: [],
    feedback: {},
    version: null,
  };
}

/** A title from the first words of the first question. */
export function titleFrom(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= TITLE_LENGTH) return flat;
  const cut = flat.slice(0, TITLE_LENGTH);
  const space = cut.lastIndexOf(" ");
  return (space > TITLE_LENGTH / 2 ? cut.slice(0, space) : cut) + "…";
}

function touch(conversation: Conversation, messages: ChatMessage[], now: Date): Conversation {
  return { ...conversation, messages, updatedAt: now.toISOString() };
}

function placeholder(model: string | null): ChatMessage {
  return { id: newId(), role: "assistant", content: "", metadata: { model: model ?? undefined, pending: true } };
}

export interface Turn {
  conversation: Conversation;
  /** The assistant message the answer streams into. */
  assistantId: string;
}

export function isStreaming(conversation: Conversation): boolean {
  return conversation.messages.some((m) => m.metadata.pending);
}

/** Adds the user's message (with its attachments) and an empty assistant message to stream into. */
export function beginTurn(
  conversation: Conversation,
  text: string,
  now: Date = new Date(),
  attachments: Attachment[] = [],
): Turn {
  const user: ChatMessage = {
    id: newId(),
    role: "user",
    content: text,
    metadata: attachments.length ? { attachments } : {},
  };
  const answer = placeholder(conversation.model);
  const title = conversation.title || titleFrom(text);
  return {
    conversation: { ...touch(conversation, [...conversation.messages, user, answer], now), title },
    assistantId: answer.id,
  };
}

function updateMessage(
  conversation: Conversation,
  id: string,
  change: (m: ChatMessage) => ChatMessage,
  now: Date,
): Conversation {
  let found = false;
  const messages = conversation.messages.map((m) => {
    if (m.id !== id) return m;
    found = true;
    return change(m);
  });
  return found ? touch(conversation, messages, now) : conversation;
}

export function appendDelta(
  conversation: Conversation,
  id: string,
  text: string,
  now: Date = new Date(),
): Conversation {
  if (!text) return conversation;
  return updateMessage(conversation, id, (m) => ({ ...m, content: m.content + text }), now);
}

export function setCitations(
  conversation: Conversation,
  id: string,
  citations: Citation[],
  now: Date = new Date(),
): Conversation {
  return updateMessage(conversation, id, (m) => ({ ...m, metadata: { ...m.metadata, citations } }), now);
}

export function completeTurn(
  conversation: Conversation,
  id: string,
  result: { finishReason?: string | null; usage?: Usage | null } = {},
  now: Date = new Date(),
): Conversation {
  return updateMessage(
    conversation,
    id,
    (m) => {
      const { pending: _pending, ...meta } = m.metadata;
      return { ...m, metadata: { ...meta, finishReason: result.finishReason ?? null, usage: result.usage ?? null } };
    },
    now,
  );
}

export function failTurn(conversation: Conversation, id: string, error: string, now: Date = new Date()): Conversation {
  return updateMessage(
    conversation,
    id,
    (m) => {
      const { pending: _pending, ...meta } = m.metadata;
      return { ...m, metadata: { ...meta, error } };
    },
    now,
  );
}

export function stopTurn(conversation: Conversation, id: string, now: Date = new Date()): Conversation {
  return updateMessage(
    conversation,
    id,
    (m) => {
      const { pending: _pending, ...meta } = m.metadata;
      return { ...m, metadata: { ...meta, stopped: true, finishReason: "stopped" } };
    },
    now,
  );
}

/** Answers the last question again: drops the last answer (and anything after it) and streams a new one. */
export function regenerate(conversation: Conversation, now: Date = new Date()): Turn | null {
  const lastUser = conversation.messages.map((m) => m.role).lastIndexOf("user");
  if (lastUser < 0 || isStreaming(conversation)) return null;
  const answer = placeholder(conversation.model);
  return {
    conversation: touch(conversation, [...conversation.messages.slice(0, lastUser + 1), answer], now),
    assistantId: answer.id,
  };
}

/** Replaces a user message's text, forgets everything after it, and streams a new answer. */
export function editAndResend(
  conversation: Conversation,
  messageId: string,
  text: string,
  now: Date = new Date(),
): Turn | null {
  const index = conversation.messages.findIndex((m) => m.id === messageId);
  if (index < 0 || conversation.messages[index].role !== "user" || isStreaming(conversation) || !text.trim())
    return null;
  const edited = { ...conversation.messages[index], content: text };
  const answer = placeholder(conversation.model);
  const messages = [...conversation.messages.slice(0, index), edited, answer];
  const title =
    index === firstUserIndex(conversation) && conversation.title === titleFrom(conversation.messages[index].content)
      ? titleFrom(text)
      : conversation.title;
  return { conversation: { ...touch(conversation, messages, now), title }, assistantId: answer.id };
}

function firstUserIndex(conversation: Conversation): number {
  return conversation.messages.findIndex((m) => m.role === "user");
}

/** The messages to send for the answer `assistantId`: all before it, minus failed or empty answers. */
export function historyBefore(conversation: Conversation, assistantId: string): ChatMessage[] {
  const index = conversation.messages.findIndex((m) => m.id === assistantId);
  const before = index < 0 ? conversation.messages : conversation.messages.slice(0, index);
  return before.filter((m) => !(m.role === "assistant" && (m.metadata.error || m.metadata.pending || !m.content)));
}

export function rename(conversation: Conversation, title: string, now: Date = new Date()): Conversation {
  return { ...conversation, title: title.trim() || conversation.title, updatedAt: now.toISOString() };
}

/** What is saved: pending answers are saved as stopped, since nobody will finish them. */
export function forSaving(conversation: Conversation): Conversation {
  return {
    ...conversation,
    messages: conversation.messages.map((m) => {
      if (!m.metadata.pending) return m;
      const { pending: _pending, ...meta } = m.metadata;
      return { ...m, metadata: { ...meta, stopped: true } };
    }),
  };
}

/** Changes the tool calls of an answer as the stream reports them. */
export function setToolCalls(
  conversation: Conversation,
  id: string,
  change: (calls: ToolCallView[], notices: string[]) => { calls: ToolCallView[]; notices: string[] },
  now: Date = new Date(),
): Conversation {
  return updateMessage(
    conversation,
    id,
    (m) => {
      const next = change(m.metadata.toolCalls ?? [], m.metadata.toolNotices ?? []);
      return { ...m, metadata: { ...m.metadata, toolCalls: next.calls, toolNotices: next.notices } };
    },
    now,
  );
}

/** Prompt + completion tokens of every answer that reported its usage (LISA's totalTokensUsed). */
export function tokensUsed(conversation: Conversation): number {
  return conversation.messages.reduce(
    (sum, m) => sum + (m.metadata.usage ? m.metadata.usage.prompt_tokens + m.metadata.usage.completion_tokens : 0),
    0,
  );
}
