/**
 * What the screens read from the server, as TanStack Query options. One key per resource, so whoever changes a
 * resource refreshes every screen that shows it, requests for the same data are shared, and an answer that did not
 * change keeps its object (no re-render). Polling follows the data: fast while the server is changing something,
 * slow or not at all otherwise, and never while the tab is hidden.
 */
import { keepPreviousData, QueryClient, type QueryKey, queryOptions } from "@tanstack/react-query";
import type { DocumentPageKey, LisaApiClient, RagDocument, IngestJob, ServeClient } from "../api/clients";
import { fetchAudit, fetchUsage, type AuditQuery, type UsageQuery } from "../api/governance";
import { describeError } from "../api/errors";
import { isTransitional } from "../admin/modelPayload";
import type { ModelRecord } from "../api/clients";
import { withAdminMetadata } from "../chat/models";
import { ingestDone } from "../rag/upload";
import { newestFirst } from "../sessions/sessionRecords";

export const MODELS_CHANGING_POLL_MS = 2000;
export const MODELS_SETTLED_POLL_MS = 10_000;
export const SERVE_MODELS_POLL_MS = 10_000;
export const MODEL_EVENTS_POLL_MS = 2000;
export const INGEST_POLL_MS = 1000;
export const USAGE_POLL_MS = 60_000; // serve writes usage every few seconds; a minute is fresh enough for charts

export const keys = {
  serveModels: ["serve", "models"] as const,
  modelRecords: ["api", "models"] as const,
  modelEvents: (modelId: string) => ["api", "models", modelId, "events"] as const,
  modelSchedule: (modelId: string) => ["api", "models", modelId, "schedule"] as const,
  gpuCapacity: ["api", "models", "capacity"] as const,
  tokens: ["api", "tokens"] as const,
  sessions: ["api", "sessions"] as const,
  repositories: ["api", "repositories"] as const,
  documents: (repositoryId: string) => ["api", "repositories", repositoryId, "documents"] as const,
  collections: (repositoryId: string) => ["api", "repositories", repositoryId, "collections"] as const,
  usage: (query: UsageQuery) => ["api", "usage", query] as const,
  audit: (query: AuditQuery) => ["api", "audit", query] as const,
};

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      // The first failure is shown as it is; pollers ask again on their own schedule.
      queries: { retry: false, refetchOnWindowFocus: false },
    },
  });
}

/**
 * Put a change the server has acknowledged into the cache. A fetch of the same data still in flight may have been
 * answered before the change reached the server and would overwrite it when it lands (under a busy api a new session
 * vanished from the sidebar, a rename or a theme reverted), so it is replaced by a fresh one.
 */
export function acknowledgeChange<T>(
  client: QueryClient,
  queryKey: QueryKey,
  edit: (cached: T | undefined) => T,
): void {
  client.setQueryData<T>(queryKey, edit);
  if (client.isFetching({ queryKey }) > 0) void client.invalidateQueries({ queryKey });
}

/** The message to show for a query that failed, or null. */
export function queryError(query: { error: unknown }): string | null {
  return query.error ? describeError(query.error) : null;
}

export function modelRecordsPollMs(records: ModelRecord[] | undefined): number {
  return records?.some((m) => isTransitional(m.status)) ? MODELS_CHANGING_POLL_MS : MODELS_SETTLED_POLL_MS;
}

export interface RepositoryContents {
  documents: RagDocument[];
  jobs: IngestJob[];
  totalDocuments?: number;
  next?: DocumentPageKey | null;
}

export const REPOSITORIES_CHANGING_POLL_MS = 2000;

/** Repositories poll while one is being created, updated or deleted (its stack is deploying). */
export function repositoriesPollMs(repositories: { status: string }[] | undefined): number | false {
  return repositories?.some((r) => r.status.endsWith("_IN_PROGRESS")) ? REPOSITORIES_CHANGING_POLL_MS : false;
}

export function ingestPollMs(contents: RepositoryContents | undefined): number | false {
  const running = [...(contents?.jobs ?? []), ...(contents?.documents ?? [])].some((j) => !ingestDone(j.status));
  return running ? INGEST_POLL_MS : false;
}

/** What serve routes for this user; for an admin, the admin API fills in what serve did not say about a model. */
export function serveModelsQuery(serve: ServeClient, api: LisaApiClient, isAdmin: boolean) {
  return queryOptions({
    queryKey: keys.serveModels,
    queryFn: async ({ signal }) => {
      const list = await serve.models(signal);
      if (!isAdmin || list.every((m) => m.known)) return list;
      const records = await api.listModels(signal).catch(() => null);
      return records ? withAdminMetadata(list, records) : list;
    },
    refetchInterval: SERVE_MODELS_POLL_MS,
    refetchOnWindowFocus: true,
  });
}

export function modelRecordsQuery(api: LisaApiClient) {
  return queryOptions({
    queryKey: keys.modelRecords,
    queryFn: ({ signal }) => api.listModels(signal),
    refetchInterval: (query) => modelRecordsPollMs(query.state.data),
  });
}

export function modelScheduleQuery(api: LisaApiClient, modelId: string) {
  return queryOptions({
    queryKey: keys.modelSchedule(modelId),
    queryFn: ({ signal }) => api.getSchedule(modelId, signal),
  });
}

/** What the stage's maxGpuInstances leaves; under the model list's key, so every model change refreshes it. */
export function gpuCapacityQuery(api: LisaApiClient) {
  return queryOptions({
    queryKey: keys.gpuCapacity,
    queryFn: ({ signal }) => api.gpuCapacity(signal),
    refetchInterval: MODELS_SETTLED_POLL_MS,
  });
}

export function modelEventsQuery(api: LisaApiClient, modelId: string) {
  return queryOptions({
    queryKey: keys.modelEvents(modelId),
    queryFn: ({ signal }) => api.modelEvents(modelId, signal),
    refetchInterval: MODEL_EVENTS_POLL_MS,
  });
}

export function tokensQuery(api: LisaApiClient) {
  return queryOptions({ queryKey: keys.tokens, queryFn: ({ signal }) => api.listTokens(signal) });
}

export function sessionsQuery(api: LisaApiClient) {
  return queryOptions({
    queryKey: keys.sessions,
    queryFn: async ({ signal }) => newestFirst(await api.listSessions(signal)),
  });
}

export function repositoriesQuery(api: LisaApiClient) {
  return queryOptions({
    queryKey: keys.repositories,
    queryFn: ({ signal }) => api.listRepositories(signal),
    refetchInterval: (query) => repositoriesPollMs(query.state.data),
  });
}

export function collectionsQuery(api: LisaApiClient, repositoryId: string) {
  return queryOptions({
    queryKey: keys.collections(repositoryId),
    queryFn: ({ signal }) => api.listCollections(repositoryId, signal),
    enabled: repositoryId !== "",
  });
}

/** One page of a collection's documents and the repository's recent jobs. */
export function repositoryContentsQuery(
  api: LisaApiClient,
  repositoryId: string,
  collectionId = "",
  after: DocumentPageKey | null = null,
) {
  return queryOptions({
    queryKey: [...keys.documents(repositoryId), collectionId, after?.documentId ?? ""] as const,
    queryFn: async ({ signal }): Promise<RepositoryContents> => {
      const [page, jobs] = await Promise.all([
        api.listDocuments(repositoryId, collectionId, after, signal).catch(() => null),
        api.listJobs(repositoryId, signal),
      ]);
      return {
        documents: page?.documents ?? [],
        jobs,
        totalDocuments: page?.totalDocuments ?? 0,
        next: page?.lastEvaluated ?? null,
      };
    },
    enabled: repositoryId !== "",
    refetchInterval: (query) => ingestPollMs(query.state.data),
  });
}

/** Usage totals and timeline; the previous figures stay on screen while another range loads. */
export function usageQuery(api: LisaApiClient, query: UsageQuery) {
  return queryOptions({
    queryKey: keys.usage(query),
    queryFn: ({ signal }) => fetchUsage(api.http, query, signal),
    placeholderData: keepPreviousData,
    refetchInterval: USAGE_POLL_MS,
  });
}

/** One page of the audit log (admins). */
export function auditPageQuery(api: LisaApiClient, query: AuditQuery) {
  return queryOptions({
    queryKey: keys.audit(query),
    queryFn: ({ signal }) => fetchAudit(api.http, query, signal),
    placeholderData: keepPreviousData,
  });
}
