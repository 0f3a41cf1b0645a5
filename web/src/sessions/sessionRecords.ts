/**
 * Converting between the chat screen's Conversation and the api's `/session` shapes (services/api/sessions.py),
 * and the session list's order and search.
 */
import { DEFAULT_PARAMETERS, type ChatMessage, type Conversation, type Role } from "../chat/conversation";
import { newId } from "../chat/ids";

export interface SessionSummary {
  sessionId: string;
  name: string | null;
  model: string | null;
  firstHumanMessage?: string | null;
  messageCount?: number;
  startTime?: string;
  createTime?: string;
  lastUpdated: string;
}

export interface ApiMessage {
  role?: string;
  type?: string;
  content: unknown;
  metadata?: Record<string, unknown>;
  id?: string;
}

export interface ApiSession {
  sessionId: string;
  name: string | null;
  model: string | null;
  history: ApiMessage[];
  configuration: Record<string, unknown> | null;
  createTime?: string;
  startTime?: string;
  lastUpdated?: string;
}

export interface PutSession {
  messages: ApiMessage[];
  name: string | null;
  model: string | null;
  configuration: Record<string, unknown>;
}

const ROLE_OF_TYPE: Record<string, Role> = { human: "user", ai: "assistant", system: "system" };

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        part && typeof part === "object" && typeof (part as any).text === "string" ? (part as any).text : "",
      )
      .join("");
  }
  return content == null ? "" : String(content);
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
  const configuration = (session.configuration ?? {}) as Record<string, any>;
  const messages: ChatMessage[] = (session.history ?? [])
    .map((m) => {
      const role = (m.role ?? ROLE_OF_TYPE[m.type ?? ""]) as Role;
      return {
        id: typeof m.id === "string" && m.id ? m.id : newId(),
        role,
        content: textOf(m.content),
        metadata: (m.metadata && typeof m.metadata === "object" ? m.metadata : {}) as ChatMessage["metadata"],
      };
    })
    .filter((m) => m.role === "user" || m.role === "assistant" || m.role === "system");
  const created = session.createTime ?? session.startTime ?? session.lastUpdated ?? new Date().toISOString();
  return {
    sessionId: session.sessionId,
    title: session.name ?? "",
    model: session.model ?? null,
    systemPrompt: typeof configuration.systemPrompt === "string" ? configuration.systemPrompt : "",
    parameters: { ...DEFAULT_PARAMETERS, ...(configuration.parameters ?? {}) },
    rag: configuration.rag && typeof configuration.rag === "object" ? configuration.rag : null,
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
    firstHumanMessage: firstUser?.content ?? null,
    messageCount: conversation.messages.length,
    createTime: conversation.createdAt,
    lastUpdated: conversation.updatedAt,
  };
  return newestFirst([summary, ...sessions.filter((s) => s.sessionId !== conversation.sessionId)]);
}
