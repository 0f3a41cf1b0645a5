/** Thin typed calls to serve (`/v2/serve`) and the api app (`/models`, `/tokens`, `/session`, `/repository`). */
import { parseModelList, type ChatRequest, type ModelInfo } from "./openai";
import { HttpClient } from "./http";
import { asNumber, asObject, asString, isObject, type JsonObject } from "./json";
import type { AnswerOf, BodyOf, Declared, Schemas } from "./wire";

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

// ---- The api's shapes: generated (schema.d.ts) where the api declares them, else the stand-in next to them.

export type ModelRecord = Schemas["ModelRecord"];
export type ModelStatus = ModelRecord["status"];
export type ModelPreview = Schemas["ModelPreview"];
export type DriftReport = Schemas["DriftReport"];
export type GpuCapacity = Schemas["GpuCapacity"];
export type InstanceTypeInfo = Schemas["InstanceType"];
export type UpdateModelRequest = Schemas["UpdateModelRequest"];
export type ModelSchedule = Schemas["ModelScheduleResponse"];
export type ScheduleUpdated = Schemas["ScheduleUpdated"];
type ModelAnswer = Schemas["ModelResponse"];
type PreviewAnswer = Schemas["ModelPreviewResponse"];
type ModelDeleted = AnswerOf<"/models/{model_id}", "delete">;

export type TokenInfo = AnswerOf<"/api-tokens", "get">["tokens"][number];
export type IssuedToken = AnswerOf<"/api-tokens", "post">;
/** With a `username`, an admin issues a token for that user with the groups given (`POST /api-tokens/{username}`);
 * without, callers issue their own and their groups are copied (`POST /api-tokens`). */
export type IssueTokenRequest = BodyOf<"/api-tokens", "post"> &
  Partial<Pick<BodyOf<"/api-tokens/{username}", "post">, "groups" | "isSystemToken">> & { username?: string };

/** Until the api declares them: the `/session` shapes of services/api/sessions.py. */
interface SessionSummaryStandIn {
  sessionId: string;
  name: string | null;
  model: string | null;
  firstHumanMessage?: string | null;
  messageCount?: number;
  startTime?: string;
  createTime?: string;
  lastUpdated: string;
}
interface ApiMessageStandIn {
  role?: string;
  type?: string;
  content: unknown;
  metadata?: Record<string, unknown>;
  id?: string;
}
interface ApiSessionStandIn {
  sessionId: string;
  name: string | null;
  model: string | null;
  history: ApiMessageStandIn[];
  configuration: Record<string, unknown> | null;
  createTime?: string;
  startTime?: string;
  lastUpdated?: string;
}
interface PutSessionStandIn {
  messages: ApiMessageStandIn[];
  name: string | null;
  model: string | null;
  configuration: Record<string, unknown>;
}
type SessionSaved = { sessionId: string; lastUpdated: string };
export type SessionSummary = Declared<AnswerOf<"/session", "get">, SessionSummaryStandIn[]>[number];
export type ApiSession = Declared<AnswerOf<"/session/{sessionId}", "get">, ApiSessionStandIn>;
export type PutSession = Declared<BodyOf<"/session/{sessionId}", "put">, PutSessionStandIn>;
type SessionPut = Declared<AnswerOf<"/session/{sessionId}", "put">, SessionSaved>;
type SessionRenamed = Declared<AnswerOf<"/session/{sessionId}/name", "put">, SessionSaved>;

/** The `/repository` shapes of services/api/repositories.py (LISA's: documents and jobs in snake_case). */
export type Repository = AnswerOf<"/repository", "get">[number];
export type NewRepository = BodyOf<"/repository", "post">;
type DocumentList = AnswerOf<"/repository/{repositoryId}/document", "get">;
export type DocumentPage = DocumentList;
export type DocumentPageKey = NonNullable<DocumentList["lastEvaluated"]>;
type JobList = AnswerOf<"/repository/{repositoryId}/jobs", "get">;
export type UploadAnswer = AnswerOf<"/repository/{repositoryId}/document", "post">;
export type RagDocument = DocumentList["documents"][number];
export type IngestJob = JobList["jobs"][number];
export type Collection = AnswerOf<"/repository/{repositoryId}/collection", "get">["collections"][number];
export type NewCollection = BodyOf<"/repository/{repositoryId}/collection", "post">;
export type IngestStatus = IngestJob["status"];

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

function modelPath(modelId: string): string {
  return `/models/${encodeURIComponent(modelId)}`;
}

export class LisaApiClient {
  constructor(readonly http: HttpClient) {}

  // Models (admin)
  async listModels(signal?: AbortSignal): Promise<ModelRecord[]> {
    return (await this.http.json<AnswerOf<"/models", "get">>("/models", { signal })).models;
  }
  async createModel(payload: Record<string, unknown>): Promise<ModelRecord> {
    return (await this.http.json<ModelAnswer>("/models", { method: "POST", body: payload })).model;
  }
  /** PUT /models/{id}; `allowReplace` accepts a change that replaces the hosted model (see previewUpdate). */
  async updateModel(modelId: string, payload: UpdateModelRequest, allowReplace = false): Promise<ModelRecord> {
    const query = allowReplace ? "?allowReplace=true" : "";
    return (await this.http.json<ModelAnswer>(`${modelPath(modelId)}${query}`, { method: "PUT", body: payload })).model;
  }
  /** The Pulumi diff of a change, nothing written; `replaces` names the inputs that would replace the model. */
  async previewUpdate(modelId: string, payload: UpdateModelRequest): Promise<ModelPreview> {
    return (await this.http.json<PreviewAnswer>(`${modelPath(modelId)}?dryRun=true`, { method: "PUT", body: payload }))
      .preview;
  }
  async deleteModel(modelId: string): Promise<ModelDeleted> {
    return this.http.json(modelPath(modelId), { method: "DELETE" });
  }
  async modelEvents(modelId: string, signal?: AbortSignal): Promise<ModelEvent[]> {
    return parseModelEvents(await this.http.json(`${modelPath(modelId)}/events`, { signal }));
  }
  /** Refreshes the model's stack in preview mode: what differs from the declaration, per resource and property. */
  async checkDrift(modelId: string): Promise<DriftReport> {
    return (await this.http.json<AnswerOf<"/models/{model_id}/drift", "get">>(`${modelPath(modelId)}/drift`)).drift;
  }
  async reconcileModel(modelId: string): Promise<ModelRecord> {
    return (await this.http.json<ModelAnswer>(`${modelPath(modelId)}/reconcile`, { method: "POST" })).model;
  }
  async gpuCapacity(signal?: AbortSignal): Promise<GpuCapacity> {
    return this.http.json("/models/metadata/capacity", { signal });
  }
  /** LISA v6 schedules: the model's start/stop schedule and its next transitions. */
  async getSchedule(modelId: string, signal?: AbortSignal): Promise<ModelSchedule> {
    return this.http.json(`${modelPath(modelId)}/schedule`, { signal });
  }
  async putSchedule(modelId: string, config: Schemas["SchedulingConfig"]): Promise<ScheduleUpdated> {
    return this.http.json(`${modelPath(modelId)}/schedule`, { method: "PUT", body: config });
  }
  async deleteSchedule(modelId: string): Promise<ScheduleUpdated> {
    return this.http.json(`${modelPath(modelId)}/schedule`, { method: "DELETE" });
  }

  // Tokens
  async listTokens(signal?: AbortSignal): Promise<TokenInfo[]> {
    return (await this.http.json<AnswerOf<"/api-tokens", "get">>("/api-tokens", { signal })).tokens ?? [];
  }
  async issueToken(request: IssueTokenRequest): Promise<IssuedToken> {
    const { username, groups, isSystemToken, ...own } = request;
    if (!username) return this.http.json("/api-tokens", { method: "POST", body: own });
    const body: BodyOf<"/api-tokens/{username}", "post"> = { ...own, groups: groups ?? [], isSystemToken };
    return this.http.json(`/api-tokens/${encodeURIComponent(username)}`, { method: "POST", body });
  }
  async revokeToken(tokenUUID: string): Promise<AnswerOf<"/api-tokens/{tokenUUID}", "delete">> {
    return this.http.json(`/api-tokens/${encodeURIComponent(tokenUUID)}`, { method: "DELETE" });
  }

  // Sessions
  async listSessions(signal?: AbortSignal): Promise<SessionSummary[]> {
    return (await this.http.json<SessionSummary[]>("/session", { signal })) ?? [];
  }
  getSession(sessionId: string, signal?: AbortSignal): Promise<ApiSession> {
    return this.http.json(`/session/${encodeURIComponent(sessionId)}`, { signal });
  }
  putSession(sessionId: string, body: PutSession): Promise<SessionPut> {
    return this.http.json(`/session/${encodeURIComponent(sessionId)}`, { method: "PUT", body });
  }
  renameSession(sessionId: string, name: string): Promise<SessionRenamed> {
    const body: BodyOf<"/session/{sessionId}/name", "put"> = { name };
    return this.http.json(`/session/${encodeURIComponent(sessionId)}/name`, { method: "PUT", body });
  }
  deleteSession(sessionId: string): Promise<unknown> {
    return this.http.json(`/session/${encodeURIComponent(sessionId)}`, { method: "DELETE" });
  }

  // Repositories
  async listRepositories(signal?: AbortSignal): Promise<Repository[]> {
    return (await this.http.json<Repository[]>("/repository", { signal })) ?? [];
  }
  createRepository(payload: NewRepository): Promise<unknown> {
    return this.http.json("/repository", { method: "POST", body: payload });
  }
  deleteRepository(repositoryId: string): Promise<unknown> {
    return this.http.json(`/repository/${encodeURIComponent(repositoryId)}`, { method: "DELETE" });
  }
  async listCollections(repositoryId: string, signal?: AbortSignal): Promise<Collection[]> {
    const path = `/repository/${encodeURIComponent(repositoryId)}/collection?pageSize=100`;
    return (await this.http.json<AnswerOf<"/repository/{repositoryId}/collection", "get">>(path, { signal }))
      .collections;
  }
  createCollection(repositoryId: string, payload: NewCollection): Promise<Collection> {
    return this.http.json(`/repository/${encodeURIComponent(repositoryId)}/collection`, {
      method: "POST",
      body: payload,
    });
  }
  deleteCollection(repositoryId: string, collectionId: string): Promise<unknown> {
    const path = `/repository/${encodeURIComponent(repositoryId)}/collection/${encodeURIComponent(collectionId)}`;
    return this.http.json(path, { method: "DELETE" });
  }
  /** One page of a collection's documents (LISA's paging: the last page's key asks for the next). */
  listDocuments(
    repositoryId: string,
    collectionId: string,
    after: DocumentPageKey | null,
    signal?: AbortSignal,
  ): Promise<DocumentPage> {
    const query = new URLSearchParams({ pageSize: "20" });
    if (collectionId) query.set("collectionId", collectionId);
    if (after) {
      query.set("lastEvaluatedKeyPk", after.pk ?? "");
      query.set("lastEvaluatedKeyDocumentId", after.documentId ?? "");
      query.set("lastEvaluatedKeyRepositoryId", after.repositoryId ?? "");
    }
    return this.http.json<DocumentPage>(`/repository/${encodeURIComponent(repositoryId)}/document?${query}`, {
      signal,
    });
  }
  async listJobs(repositoryId: string, signal?: AbortSignal): Promise<IngestJob[]> {
    const path = `/repository/${encodeURIComponent(repositoryId)}/jobs?pageSize=50&timeLimit=24`;
    return (await this.http.json<JobList>(path, { signal })).jobs ?? [];
  }
  /** A short-lived presigned URL of the document's original (any member of its collection may ask). */
  downloadUrl(repositoryId: string, documentId: string): Promise<string> {
    return this.http.json<string>(
      `/repository/${encodeURIComponent(repositoryId)}/${encodeURIComponent(documentId)}/download`,
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
