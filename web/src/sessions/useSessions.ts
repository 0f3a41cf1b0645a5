/** The user's saved sessions, shared by the sidebar and the chat screen; the chat screen's changes show at once. */
import { type QueryClient, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo } from "react";
import { keys, queryError, sessionsQuery } from "../app/queries";
import { useServices } from "../app/services";
import type { Conversation } from "../chat/conversation";
import type { SessionSummary } from "../api/clients";
import { upsertSummary } from "./sessionRecords";

const NONE: SessionSummary[] = [];

/**
 * Apply a change the server has acknowledged to the cached list. A list fetch still in flight was answered before
 * the change reached the server and would overwrite it when it lands (a busy api: the new session vanished from the
 * sidebar, a rename reverted), so it is replaced by a fresh one.
 */
export function changeSessions(client: QueryClient, edit: (list: SessionSummary[]) => SessionSummary[]): void {
  client.setQueryData(keys.sessions, (list: SessionSummary[] = []) => edit(list));
  if (client.isFetching({ queryKey: keys.sessions }) > 0) void client.invalidateQueries({ queryKey: keys.sessions });
}

export interface SessionsState {
  sessions: SessionSummary[];
  loaded: boolean;
  error: string | null;
  saved: (conversation: Conversation) => void;
  removed: (sessionId: string) => void;
  renamed: (sessionId: string, name: string) => void;
}

export function useSessions(): SessionsState {
  const { api } = useServices();
  const client = useQueryClient();
  const query = useQuery(sessionsQuery(api));
  const { data, isPending } = query;
  const error = queryError(query);
  return useMemo(() => {
    const change = (edit: (list: SessionSummary[]) => SessionSummary[]) => changeSessions(client, edit);
    return {
      sessions: data ?? NONE,
      loaded: !isPending,
      error,
      saved: (conversation) => change((list) => upsertSummary(list, conversation)),
      removed: (sessionId) => change((list) => list.filter((s) => s.sessionId !== sessionId)),
      renamed: (sessionId, name) => change((list) => list.map((s) => (s.sessionId === sessionId ? { ...s, name } : s))),
    };
  }, [client, data, isPending, error]);
}
