/** What every screen needs once signed in: the runtime config, the user, and the HTTP clients. */
import { createContext, useContext } from "react";
import type { ChatApiClient } from "../api/chatApi";
import type { LisaApiClient, ServeClient } from "../api/clients";
import type { AuthUser } from "../auth/claims";
import type { RuntimeConfig } from "../config/runtimeConfig";

export interface AppServices {
  config: RuntimeConfig;
  user: AuthUser;
  serve: ServeClient;
  api: LisaApiClient;
  /** The chat features of the api (MCP, templates, projects, preferences, configuration, feedback, files). */
  chat: ChatApiClient;
  token: () => Promise<string | null>;
  logout: () => void;
}

export const ServicesContext = createContext<AppServices | null>(null);

export function useServices(): AppServices {
  const services = useContext(ServicesContext);
  if (!services) throw new Error("useServices outside the signed-in app");
  return services;
}
