/** The models serve offers this user, shared by the chat picker and the RAG page, refreshed while the tab is open. */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useServices } from "../app/services";
import { describeError } from "../api/errors";
import { withAdminMetadata, type ModelInfo } from "./models";

interface ModelsState {
  models: ModelInfo[];
  loaded: boolean;
  error: string | null;
  refresh: () => Promise<void>;
}

const ModelsContext = createContext<ModelsState | null>(null);
const POLL_MS = 10_000;

export function ModelsProvider({ children }: { children: ReactNode }) {
  const { serve, api, user } = useServices();
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inflight = useRef<Promise<void> | null>(null);

  const refresh = useCallback(() => {
    inflight.current ??= serve
      .models()
      .then(async (list) => {
        // Serve said nothing about some models: an admin can ask the admin API (LISA's UI does the same).
        if (user.isAdmin && list.some((m) => !m.known)) {
          const records = await api.listModels().catch(() => null);
          if (records) list = withAdminMetadata(list, records);
        }
        setModels((old) => (JSON.stringify(old) === JSON.stringify(list) ? old : list));
        setError(null);
      })
      .catch((e) => setError(describeError(e)))
      .finally(() => {
        setLoaded(true);
        inflight.current = null;
      });
    return inflight.current;
  }, [serve, api, user.isAdmin]);

  useEffect(() => {
    void refresh();
    const timer = window.setInterval(() => document.visibilityState === "visible" && void refresh(), POLL_MS);
    const onFocus = () => void refresh();
    window.addEventListener("focus", onFocus);
    return () => {
      window.clearInterval(timer);
      window.removeEventListener("focus", onFocus);
    };
  }, [refresh]);

  const value = useMemo(() => ({ models, loaded, error, refresh }), [models, loaded, error, refresh]);
  return <ModelsContext.Provider value={value}>{children}</ModelsContext.Provider>;
}

export function useModels(): ModelsState {
  const state = useContext(ModelsContext);
  if (!state) throw new Error("useModels outside ModelsProvider");
  return state;
}
