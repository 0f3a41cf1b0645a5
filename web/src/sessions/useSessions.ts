/** The user's saved sessions, shared by the sidebar and the chat screen; the chat screen's changes show at once. */
import { type QueryClient, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo } from "react";
import { acknowledgeChange, keys, queryError, sessionsQuery } from "../app/queries";
import { useServices } from "../app/services";
import type { Conversation } from "../chat/conversation";
import type { SessionSummary } from "../api/clients";
import { upsertSummary } from "./sessionRecords";

const NONE: SessionSummary[] = [];

/** Apply a change the server has acknowledged to the cached list (a list fetch in flight is sent again). */
export function changeSessions(client: QueryClient, edit: (list: SessionSummary[]) => SessionSummary[]): void {
  acknowledgeChange<SessionSummary[]>(client, keys.sessions, (list = []) => edit(list));
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
