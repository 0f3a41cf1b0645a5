/** The models serve offers this user, shared by the chat picker, the RAG settings and the documents page. */
import { useQuery } from "@tanstack/react-query";
import { useCallback } from "react";
import type { ModelInfo } from "../api/openai";
import { queryError, serveModelsQuery } from "../app/queries";
import { useServices } from "../app/services";

const NONE: ModelInfo[] = [];

export interface ModelsState {
  models: ModelInfo[];
  loaded: boolean;
  error: string | null;
  /** Asks serve again now, joining a request already on its way. */
  refresh: () => Promise<void>;
}

export function useModels(): ModelsState {
  const { serve, api, user } = useServices();
  const query = useQuery(serveModelsQuery(serve, api, user.isAdmin));
  const { refetch } = query;
  const refresh = useCallback(async () => void (await refetch({ cancelRefetch: false })), [refetch]);
  return { models: query.data ?? NONE, loaded: !query.isPending, error: queryError(query), refresh };
}
