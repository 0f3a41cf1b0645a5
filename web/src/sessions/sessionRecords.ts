/**
 * Converting between the chat screen's Conversation and the api's `/session` shapes (services/api/sessions.py),
 * and the session list's order and search.
 */
import type { ApiSession, PutSession, SessionSummary } from "../api/clients";
import { asNumber, asObject, asString, isObject, type JsonObject } from "../api/json";
import {
  DEFAULT_PARAMETERS,
  tokensUsed,
  type Attachment,
  type ChatMessage,
  type ChatParameters,
  type Conversation,
  type MessageMeta,
  type RagSettings,
  type ReasoningEffort,
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

function stopOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((s): s is string => typeof s === "string").slice(0, 4) : [];
}

const EFFORTS: ReasoningEffort[] = ["minimal", "low", "medium", "high"];

/** The saved parameters, each checked; a missing one takes its default. */
function parametersOf(value: unknown): ChatParameters {
  const p = asObject(value);
  const d = DEFAULT_PARAMETERS;
  const effort = asString(p.reasoningEffort);
  return {
    temperature: numberOrNull(p.temperature, d.temperature),
    topP: numberOrNull(p.topP, d.topP),
    maxTokens: numberOrNull(p.maxTokens, d.maxTokens),
    streaming: typeof p.streaming === "boolean" ? p.streaming : d.streaming,
    presencePenalty: numberOrNull(p.presencePenalty, d.presencePenalty),
    frequencyPenalty: numberOrNull(p.frequencyPenalty, d.frequencyPenalty),
    seed: numberOrNull(p.seed, d.seed),
    stop: stopOf(p.stop),
    reasoningEffort: EFFORTS.includes(effort as ReasoningEffort) ? (effort as ReasoningEffort) : null,
    historyBuffer: numberOrNull(p.historyBuffer, d.historyBuffer),
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

/** A stored image part keeps its S3 key; its URL is presigned afresh each time the session is read. */
function imagePart(a: Extract<Attachment, { kind: "image" }>) {
  return { type: "image_url", image_url: { url: a.url }, s3_key: a.s3Key, name: a.name };
}

function contentOf(m: ChatMessage): string | unknown[] {
  const images = (m.metadata.attachments ?? []).filter((a) => a.kind === "image");
  return images.length ? [{ type: "text", text: m.content }, ...images.map(imagePart)] : m.content;
}

export function toPutSession(conversation: Conversation): PutSession {
  return {
    name: conversation.title || null,
    model: conversation.model,
    version: conversation.version,
    configuration: {
      systemPrompt: conversation.systemPrompt,
      parameters: conversation.parameters,
      rag: conversation.rag,
      mcpServers: conversation.mcpServers,
    },
    messages: conversation.messages.map((m) => {
      const { pending: _pending, ...metadata } = m.metadata;
      const attachments = (metadata.attachments ?? []).filter((a) => a.kind === "document");
      const kept = attachments.length ? { ...metadata, attachments } : withoutAttachments(metadata);
      return { id: m.id, role: m.role, content: contentOf(m), metadata: { ...kept } };
    }),
  };
}

function withoutAttachments(metadata: MessageMeta): MessageMeta {
  const { attachments: _attachments, ...rest } = metadata;
  return rest;
}

/** Images come back as content parts (with fresh URLs), documents from the metadata. */
function attachmentsOf(content: unknown, metadata: JsonObject): Attachment[] {
  const documents = Array.isArray(metadata.attachments)
    ? metadata.attachments.filter(isObject).filter((a) => a.kind === "document")
    : [];
  const images = Array.isArray(content)
    ? content
        .filter(isObject)
        .filter((p) => p.type === "image_url" && typeof p.s3_key === "string")
        .map((p) => ({
          kind: "image" as const,
          name: asString(p.name) ?? "image",
          url: asString(asObject(p.image_url).url) ?? "",
          s3Key: asString(p.s3_key) ?? "",
        }))
    : [];
  return [...(documents as unknown as Attachment[]), ...images];
}

function feedbackOf(value: unknown): Conversation["feedback"] {
  const out: Conversation["feedback"] = {};
  for (const [id, f] of Object.entries(asObject(value))) {
    const rating = asString(asObject(f).rating);
    if (rating === "up" || rating === "down") out[id] = { rating, comment: asString(asObject(f).comment) ?? "" };
  }
  return out;
}

export function fromApiSession(session: ApiSession): Conversation {
  const configuration = asObject(session.configuration);
  const messages: ChatMessage[] = (session.history ?? [])
    .map((m) => {
      const role = (asString(m.role) ?? ROLE_OF_TYPE[asString(m.type) ?? ""]) as Role;
      const metadata = asObject(m.metadata);
      const attachments = attachmentsOf(m.content, metadata);
      return {
        id: asString(m.id) || newId(),
        role,
        content: textOf(m.content),
        metadata: { ...withoutAttachments(metadata), ...(attachments.length ? { attachments } : {}) },
      };
    })
    .filter((m) => m.role === "user" || m.role === "assistant" || m.role === "system");
  const created = session.createTime ?? session.startTime ?? session.lastUpdated ?? new Date().toISOString();
  const servers = configuration.mcpServers;
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
    mcpServers: Array.isArray(servers) ? servers.filter((s): s is string => typeof s === "string") : [],
    feedback: feedbackOf(session.feedback),
    version: session.version ?? null,
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
  const previous = sessions.find((s) => s.sessionId === conversation.sessionId);
  const summary: SessionSummary = {
    version: conversation.version ?? 0,
    projectId: null,
    pinned: false,
    isEncrypted: false,
    ...previous,
    totalTokensUsed: tokensUsed(conversation),
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
