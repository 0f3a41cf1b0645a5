/** The user's saved sessions, shared by the sidebar and the chat screen. */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useServices } from "../app/services";
import { describeError } from "../api/errors";
import type { Conversation } from "../chat/conversation";
import { newestFirst, upsertSummary, type SessionSummary } from "./sessionRecords";

interface SessionsState {
  sessions: SessionSummary[];
  loaded: boolean;
  error: string | null;
  refresh: () => Promise<void>;
  saved: (conversation: Conversation) => void;
  removed: (sessionId: string) => void;
  renamed: (sessionId: string, name: string) => void;
}

const SessionsContext = createContext<SessionsState | null>(null);

export function SessionsProvider({ children }: { children: ReactNode }) {
  const { api } = useServices();
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setSessions(newestFirst(await api.listSessions()));
      setError(null);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setLoaded(true);
    }
  }, [api]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const value = useMemo<SessionsState>(
    () => ({
      sessions,
      loaded,
      error,
      refresh,
      saved: (conversation) => setSessions((list) => upsertSummary(list, conversation)),
      removed: (sessionId) => setSessions((list) => list.filter((s) => s.sessionId !== sessionId)),
      renamed: (sessionId, name) =>
        setSessions((list) => list.map((s) => (s.sessionId === sessionId ? { ...s, name } : s))),
    }),
    [sessions, loaded, error, refresh],
  );
  return <SessionsContext.Provider value={value}>{children}</SessionsContext.Provider>;
}

export function useSessions(): SessionsState {
  const state = useContext(SessionsContext);
  if (!state) throw new Error("useSessions outside SessionsProvider");
  return state;
}
