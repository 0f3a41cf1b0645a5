/** Thin typed calls to serve (`/v2/serve`) and the api app (`/models`, `/tokens`, `/session`, `/repository`). */
import { parseModelList, type ChatRequest, type ModelInfo } from "./openai";
import { HttpClient } from "./http";
import { asNumber, asObject, asString, isObject, type JsonObject } from "./json";

export class ServeClient {
  constructor(readonly http: HttpClient) {}

  async models(signal?: AbortSignal): Promise<ModelInfo[]> {
    return parseModelList(await this.http.json("/models", { signal }));
  }

  /** POST /chat/completions; the raw response, streamed or not. */
  chat(request: ChatRequest, signal?: AbortSignal): Promise<Response> {
    return this.http.send("/chat/completions", { body: request, signal });
  }
}

/** A model as the admin API returns it (LISA's model-management API). */
export type ModelStatus =
  "Creating" | "InService" | "Stopping" | "Stopped" | "Starting" | "Updating" | "Deleting" | "Failed";

export interface ModelRecord {
  modelId: string;
  modelName: string;
  modelType: "textgen" | "embedding";
  status: ModelStatus;
  statusReason?: string | null;
  streaming: boolean;
  enabled?: boolean;
  instanceType?: string | null;
  inferenceContainer?: string | null;
  modelUrl?: string | null;
  containerConfig?: Record<string, unknown> | null;
  autoScalingConfig?: {
    minCapacity: number;
    maxCapacity: number;
    desiredCapacity?: number | null;
    [k: string]: unknown;
  } | null;
  loadBalancerConfig?: Record<string, unknown> | null;
  createdAt?: number | null;
  updatedAt?: number | null;
}

/** The `/session` shapes (services/api/sessions.py). */
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

export interface TokenInfo {
  tokenId: string;
  owner: string;
  username: string;
  groups: string[];
  isAdmin: boolean;
  name: string;
  createdAt: number;
  createdBy?: string | null;
  tokenExpiration?: number | null;
}

export interface IssueTokenRequest {
  name: string;
  owner?: string;
  groups?: string[];
  isAdmin?: boolean;
  tokenExpiration?: number | null;
}

export interface Repository {
  repositoryId: string;
  type: "pgvector" | "opensearch";
  allowedGroups: string[];
  chunkSize: number;
  chunkOverlap: number;
  defaultEmbeddingModel: string | null;
  embeddingModel?: string | null;
  dimension?: number | null;
}

export type IngestStatus = "INGESTION_PENDING" | "INGESTION_IN_PROGRESS" | "INGESTION_COMPLETED" | "INGESTION_FAILED";

export interface IngestJob {
  jobId: string;
  documentId: string;
  documentName: string;
  status: IngestStatus;
  chunks?: number | null;
  chunksEmbedded?: number | null;
  error?: string | null;
  embeddingModel?: string | null;
  createdDate?: string;
  updatedDate?: string;
}

export interface RagDocument extends IngestJob {
  repositoryId: string;
  source?: string;
  contentType?: string;
  size?: number;
  uploadDate?: string;
}

export interface ModelEvent {
  time: string | number | null;
  message: string;
  kind: string;
}

function eventMessage(e: JsonObject): string {
  const text = (value: unknown) => asString(value) ?? "";
  switch (e.type) {
    case "step": {
      const type = asString(e.resourceType);
      return `${text(e.op)} ${text(e.resource)}${type ? ` (${type})` : ""}: ${text(e.phase)}`.trim();
    }
    case "diagnostic":
      return text(e.message);
    case "summary": {
      const changes = Object.entries(asObject(e.resourceChanges))
        .map(([op, n]) => `${op} ${String(n)}`)
        .join(", ");
      const seconds = asNumber(e.durationSeconds);
      const took = seconds !== undefined ? ` in ${seconds} s` : "";
      return `Deployment finished${took}${changes ? `: ${changes}` : ""}`;
    }
    default:
      return asString(e.message) ?? JSON.stringify(e);
  }
}

function eventKind(e: JsonObject): string {
  if (e.type === "diagnostic") return asString(e.severity) ?? "diagnostic";
  if (e.type === "step") return asString(e.phase) ?? "step";
  return asString(e.type) ?? "";
}

/** The deployment engine's events of a model (`{"events": [...]}`, services/api/engine/events.py), oldest first. */
export function parseModelEvents(body: unknown): ModelEvent[] {
  const list: unknown = Array.isArray(body) ? body : asObject(body).events;
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((e) => ({
    time: asNumber(e.time) ?? asString(e.time) ?? null,
    message: eventMessage(e),
    kind: eventKind(e),
  }));
}

export class LisaApiClient {
  constructor(readonly http: HttpClient) {}

  // Models (admin)
  async listModels(signal?: AbortSignal): Promise<ModelRecord[]> {
    return (await this.http.json<{ models: ModelRecord[] }>("/models", { signal })).models ?? [];
  }
  async createModel(payload: Record<string, unknown>): Promise<ModelRecord> {
    return (await this.http.json<{ model: ModelRecord }>("/models", { method: "POST", body: payload })).model;
  }
  async updateModel(modelId: string, payload: Record<string, unknown>): Promise<ModelRecord> {
    return (
      await this.http.json<{ model: ModelRecord }>(`/models/${encodeURIComponent(modelId)}`, {
        method: "PUT",
        body: payload,
      })
    ).model;
  }
  async deleteModel(modelId: string): Promise<{ status: string; message: string }> {
    return this.http.json(`/models/${encodeURIComponent(modelId)}`, { method: "DELETE" });
  }
  async modelEvents(modelId: string, signal?: AbortSignal): Promise<ModelEvent[]> {
    return parseModelEvents(await this.http.json(`/models/${encodeURIComponent(modelId)}/events`, { signal }));
  }

  // Tokens
  async listTokens(signal?: AbortSignal): Promise<TokenInfo[]> {
    return (await this.http.json<{ tokens: TokenInfo[] }>("/tokens", { signal })).tokens ?? [];
  }
  async issueToken(request: IssueTokenRequest): Promise<TokenInfo & { token: string }> {
    return this.http.json("/tokens", { method: "POST", body: request });
  }
  async revokeToken(tokenId: string): Promise<TokenInfo> {
    return this.http.json(`/tokens/${encodeURIComponent(tokenId)}`, { method: "DELETE" });
  }

  // Sessions
  async listSessions(signal?: AbortSignal): Promise<SessionSummary[]> {
    return (await this.http.json<SessionSummary[]>("/session", { signal })) ?? [];
  }
  getSession(sessionId: string, signal?: AbortSignal): Promise<ApiSession> {
    return this.http.json(`/session/${encodeURIComponent(sessionId)}`, { signal });
  }
  putSession(sessionId: string, body: PutSession): Promise<{ sessionId: string; lastUpdated: string }> {
    return this.http.json(`/session/${encodeURIComponent(sessionId)}`, { method: "PUT", body });
  }
  renameSession(sessionId: string, name: string): Promise<{ sessionId: string; lastUpdated: string }> {
    return this.http.json(`/session/${encodeURIComponent(sessionId)}/name`, { method: "PUT", body: { name } });
  }
  deleteSession(sessionId: string): Promise<unknown> {
    return this.http.json(`/session/${encodeURIComponent(sessionId)}`, { method: "DELETE" });
  }

  // Repositories
  async listRepositories(signal?: AbortSignal): Promise<Repository[]> {
    return (await this.http.json<Repository[]>("/repository", { signal })) ?? [];
  }
  async listDocuments(repositoryId: string, signal?: AbortSignal): Promise<RagDocument[]> {
    return (
      (
        await this.http.json<{ documents: RagDocument[] }>(`/repository/${encodeURIComponent(repositoryId)}/document`, {
          signal,
        })
      ).documents ?? []
    );
  }
  async listJobs(repositoryId: string, signal?: AbortSignal): Promise<IngestJob[]> {
    return (
      (await this.http.json<{ jobs: IngestJob[] }>(`/repository/${encodeURIComponent(repositoryId)}/jobs`, { signal }))
        .jobs ?? []
    );
  }
  deleteDocument(repositoryId: string, documentId: string): Promise<unknown> {
    return this.http.json(`/repository/${encodeURIComponent(repositoryId)}/${encodeURIComponent(documentId)}`, {
      method: "DELETE",
    });
  }
  /** RAG chat: POST /repository/{id}/chat/completions (OpenAI body + topK, embeddingModel). */
  ragChat(repositoryId: string, request: ChatRequest, signal?: AbortSignal): Promise<Response> {
    return this.http.send(`/repository/${encodeURIComponent(repositoryId)}/chat/completions`, {
      body: request,
      signal,
    });
  }
  documentUploadUrl(repositoryId: string): string {
    return this.http.url(`/repository/${encodeURIComponent(repositoryId)}/document`);
  }
}
