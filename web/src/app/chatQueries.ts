/**
 * Server data of the chat features (api/chatApi.ts) as TanStack Query options and hooks: MCP connections, prompt
 * templates, projects, preferences and the admin configuration (whose switches hide what is off, as LISA's do).
 */
import {
  mutationOptions,
  type QueryClient,
  queryOptions,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { useMemo } from "react";
import type { ChatApiClient, Configuration, Preferences } from "../api/chatApi";
import { acknowledgeChange } from "./queries";
import { useServices } from "./services";

export const chatKeys = {
  mcpServers: ["api", "mcp-servers"] as const,
  templates: (shared: boolean, q: string) => ["api", "prompt-templates", shared, q] as const,
  allTemplates: ["api", "prompt-templates"] as const,
  projects: ["api", "projects"] as const,
  preferences: ["api", "user-preferences"] as const,
  configuration: ["api", "configuration"] as const,
  feedback: (days: number) => ["api", "feedback", days] as const,
};

export const CONFIGURATION_POLL_MS = 60_000;

export function mcpServersQuery(chat: ChatApiClient) {
  return queryOptions({ queryKey: chatKeys.mcpServers, queryFn: ({ signal }) => chat.mcpServers(signal) });
}

export function templatesQuery(chat: ChatApiClient, shared: boolean, q: string) {
  return queryOptions({
    queryKey: chatKeys.templates(shared, q),
    queryFn: ({ signal }) => chat.templates(shared, q, signal),
  });
}

export function projectsQuery(chat: ChatApiClient) {
  return queryOptions({ queryKey: chatKeys.projects, queryFn: ({ signal }) => chat.projects(signal) });
}

export function preferencesQuery(chat: ChatApiClient) {
  return queryOptions({ queryKey: chatKeys.preferences, queryFn: ({ signal }) => chat.preferences(signal) });
}

export function configurationQuery(chat: ChatApiClient) {
  return queryOptions({
    queryKey: chatKeys.configuration,
    queryFn: ({ signal }) => chat.configuration(signal),
    refetchInterval: CONFIGURATION_POLL_MS,
  });
}

/** Whether a LISA component is on for users (on until the configuration says otherwise). */
export function componentEnabled(configuration: Configuration | undefined, name: string): boolean {
  return configuration?.enabledComponents?.[name] ?? true;
}

export function useConfiguration() {
  const { chat } = useServices();
  const query = useQuery(configurationQuery(chat));
  const configuration = query.data?.configuration;
  return useMemo(
    () => ({
      item: query.data,
      configuration,
      enabled: (name: string) => componentEnabled(configuration, name),
    }),
    [query.data, configuration],
  );
}

/**
 * Saving the preferences shows them at once. A preferences fetch in flight is cancelled first, or its older answer
 * would land over the change (a theme switched back under a busy api); once the server acknowledges the save, the
 * saved preferences are what the cache holds, unless a later save is still on its way. A failed save shows the
 * server's again.
 */
export function savePreferencesMutation(chat: ChatApiClient, client: QueryClient) {
  return mutationOptions({
    mutationKey: chatKeys.preferences,
    mutationFn: (preferences: Preferences) => chat.savePreferences(preferences),
    onMutate: async (preferences: Preferences) => {
      await client.cancelQueries({ queryKey: chatKeys.preferences }); // reverts it to what it held before: set after
      client.setQueryData(chatKeys.preferences, preferences);
    },
    onSuccess: (_answer: unknown, preferences: Preferences) => {
      if (client.isMutating({ mutationKey: chatKeys.preferences }) <= 1)
        acknowledgeChange(client, chatKeys.preferences, () => preferences);
    },
    onError: () => client.invalidateQueries({ queryKey: chatKeys.preferences }),
  });
}

/** The user's preferences and a `save(change)` that merges the change in and stores the result server-side. */
export function usePreferences() {
  const { chat } = useServices();
  const client = useQueryClient();
  const query = useQuery(preferencesQuery(chat));
  const mutation = useMutation(savePreferencesMutation(chat, client));
  const { mutate } = mutation;
  return useMemo(
    () => ({
      preferences: query.data,
      loaded: !query.isPending,
      save: (change: Partial<Preferences>) =>
        mutate({ ...(client.getQueryData<Preferences>(chatKeys.preferences) ?? {}), ...change }),
    }),
    [query.data, query.isPending, mutate, client],
  );
}
