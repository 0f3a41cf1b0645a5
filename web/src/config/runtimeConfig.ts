/**
 * The runtime configuration the UI reads at start from `/config.json`, written by whoever serves the built assets
 * (the ChatUi component in AWS, the local stack here) from one model, components/web_config.py. Its type is
 * generated from that model (schema.d.ts, `make api-types`); the build itself holds no URL and no client id.
 *
 * Example (local stack):
 * {
 *   "title": "LISA (local)",
 *   "serveUrl": "http://127.0.0.1:8080/v2/serve",
 *   "apiUrl": "http://127.0.0.1:8081",
 *   "auth": {
 *     "authority": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
 *     "clientId": "abc123",
 *     "adminGroup": "lisa-admins",
 *     "jwtGroupsProperty": "cognito:groups",
 *     "scopes": ["openid", "profile", "email"],
 *     "apiGroup": "lisa-api-users",
 *     "passwordLogin": { "cognitoEndpoint": "http://127.0.0.1:5000", "region": "us-east-1" }
 *   }
 * }
 */
import { asObject, isObject } from "../api/json";
import type { components } from "./schema";

export type RuntimeConfig = components["schemas"]["WebRuntimeConfig"];
export type AuthConfig = components["schemas"]["WebAuthConfig"];
export type PasswordLoginConfig = components["schemas"]["PasswordLogin"];

export class ConfigProblem extends Error {}

/** Collects what is missing or wrong, field by field, so one message names every problem. */
class Reader {
  readonly problems: string[] = [];

  text(value: unknown, path: string): string {
    if (typeof value === "string" && value.trim() !== "") return value.trim();
    this.problems.push(`${path}: expected a non-empty string`);
    return "";
  }

  url(value: unknown, path: string): string {
    return this.text(value, path).replace(/\/+$/, "");
  }

  texts(value: unknown, path: string): string[] {
    const list: unknown[] = Array.isArray(value) ? value : [];
    if (list.length && list.every((s): s is string => typeof s === "string")) return list;
    this.problems.push(`${path}: expected a non-empty list of strings`);
    return [];
  }
}

/** Validates the raw JSON of `/config.json`; throws ConfigProblem naming every missing or wrong field. */
export function parseRuntimeConfig(raw: unknown): RuntimeConfig {
  const read = new Reader();
  if (!isObject(raw)) read.problems.push("config.json: expected a JSON object");
  const root = asObject(raw);
  const auth = asObject(root.auth);
  const login = isObject(auth.passwordLogin) ? auth.passwordLogin : null;
  const config: RuntimeConfig = {
    title: typeof root.title === "string" && root.title ? root.title : "LISA",
    serveUrl: read.url(root.serveUrl, "serveUrl"),
    apiUrl: read.url(root.apiUrl, "apiUrl"),
    auth: {
      authority: read.url(auth.authority, "auth.authority"),
      clientId: read.text(auth.clientId, "auth.clientId"),
      adminGroup: read.text(auth.adminGroup, "auth.adminGroup"),
      jwtGroupsProperty: read.text(auth.jwtGroupsProperty, "auth.jwtGroupsProperty"),
      scopes: read.texts(auth.scopes, "auth.scopes"),
      apiGroup: typeof auth.apiGroup === "string" ? auth.apiGroup.trim() : "",
      passwordLogin: login && {
        cognitoEndpoint: read.url(login.cognitoEndpoint, "auth.passwordLogin.cognitoEndpoint"),
        region: read.text(login.region, "auth.passwordLogin.region"),
      },
    },
  };
  if (read.problems.length) throw new ConfigProblem(read.problems.join("; "));
  return config;
}

export async function loadRuntimeConfig(url = "/config.json"): Promise<RuntimeConfig> {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new ConfigProblem(`${url}: HTTP ${response.status}`);
  let raw: unknown;
  try {
    raw = await response.json();
  } catch {
    throw new ConfigProblem(`${url}: not JSON`);
  }
  return parseRuntimeConfig(raw);
}
