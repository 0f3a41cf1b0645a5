/**
 * Converting between the chat screen's Conversation and the api's `/session` shapes (services/api/sessions.py),
 * and the session list's order and search.
 */
import type { ApiSession, PutSession, SessionSummary } from "../api/clients";
import { asNumber, asObject, asString, isObject } from "../api/json";
import {
  DEFAULT_PARAMETERS,
  type ChatMessage,
  type ChatParameters,
  type Conversation,
  type RagSettings,
  type Role,
} from "../chat/conversation";
import { newId } from "../chat/ids";

const ROLE_OF_TYPE: Record<string, Role> = { human: "user", ai: "assistant", system: "system" };

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => asString(asObject(part).text) ?? "").join("");
  return typeof content === "number" || typeof content === "boolean" ? String(content) : "";
}

function numberOrNull(value: unknown, fallback: number | null): number | null {
  return value === null ? null : (asNumber(value) ?? fallback);
}

/** The saved parameters, each checked; a missing one takes its default. */
function parametersOf(value: unknown): ChatParameters {
  const p = asObject(value);
  return {
    temperature: numberOrNull(p.temperature, DEFAULT_PARAMETERS.temperature),
    topP: numberOrNull(p.topP, DEFAULT_PARAMETERS.topP),
    maxTokens: numberOrNull(p.maxTokens, DEFAULT_PARAMETERS.maxTokens),
    streaming: typeof p.streaming === "boolean" ? p.streaming : DEFAULT_PARAMETERS.streaming,
  };
}

function ragOf(value: unknown): RagSettings | null {
  if (!isObject(value)) return null;
  return {
    repositoryId: asString(value.repositoryId) ?? "",
    embeddingModel: asString(value.embeddingModel) ?? "",
    topK: asNumber(value.topK) ?? 3,
  };
}

export function toPutSession(conversation: Conversation): PutSession {
  return {
    name: conversation.title || null,
    model: conversation.model,
    configuration: {
      systemPrompt: conversation.systemPrompt,
      parameters: conversation.parameters,
      rag: conversation.rag,
    },
    messages: conversation.messages.map((m) => {
      const { pending: _pending, ...metadata } = m.metadata;
      return { id: m.id, role: m.role, content: m.content, metadata };
    }),
  };
}

export function fromApiSession(session: ApiSession): Conversation {
  const configuration = asObject(session.configuration);
  const messages: ChatMessage[] = (session.history ?? [])
    .map((m) => {
      const role = (asString(m.role) ?? ROLE_OF_TYPE[asString(m.type) ?? ""]) as Role;
      return {
        id: asString(m.id) || newId(),
        role,
        content: textOf(m.content),
        metadata: asObject(m.metadata),
      };
    })
    .filter((m) => m.role === "user" || m.role === "assistant" || m.role === "system");
  const created = session.createTime ?? session.startTime ?? session.lastUpdated ?? new Date().toISOString();
  return {
    sessionId: session.sessionId,
    title: session.name ?? "",
    model: session.model ?? null,
    systemPrompt: asString(configuration.systemPrompt) ?? "",
    parameters: parametersOf(configuration.parameters),
    rag: ragOf(configuration.rag),
    messages,
    createdAt: created,
    updatedAt: session.lastUpdated ?? created,
  };
}

export function sessionTitle(summary: SessionSummary): string {
  return summary.name?.trim() || summary.firstHumanMessage?.trim() || "Untitled chat";
}

export function newestFirst(sessions: SessionSummary[]): SessionSummary[] {
  return [...sessions].sort((a, b) => (b.lastUpdated ?? "").localeCompare(a.lastUpdated ?? ""));
}

/** Sessions whose title holds every word of the query, in any case and order. */
export function searchByTitle(sessions: SessionSummary[], query: string): SessionSummary[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return sessions;
  return sessions.filter((s) => {
    const title = sessionTitle(s).toLowerCase();
    return words.every((w) => title.includes(w));
  });
}

/** Puts a just-saved conversation into the list (new or updated) without waiting for a reload. */
export function upsertSummary(sessions: SessionSummary[], conversation: Conversation): SessionSummary[] {
  const firstUser = conversation.messages.find((m) => m.role === "user");
  const summary: SessionSummary = {
    sessionId: conversation.sessionId,
    name: conversation.title || null,
    model: conversation.model,
    firstHumanMessage: firstUser?.content ?? "",
    messageCount: conversation.messages.length,
    createTime: conversation.createdAt,
    lastUpdated: conversation.updatedAt,
  };
  return newestFirst([summary, ...sessions.filter((s) => s.sessionId !== conversation.sessionId)]);
}
