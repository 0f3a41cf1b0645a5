/**
 * The runtime configuration the UI reads at start from `/config.json`, written by whoever serves the built assets
 * (the local stack, or the `ChatUi` component in AWS). The build itself holds no URL and no client id.
 *
 * Example (local stack):
 * {
 *   "serveUrl": "http://127.0.0.1:8080/v2/serve",
 *   "apiUrl": "http://127.0.0.1:8081",
 *   "auth": {
 *     "authority": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
 *     "clientId": "abc123",
 *     "adminGroup": "lisa-admins",
 *     "jwtGroupsProperty": "cognito:groups",
 *     "passwordLogin": { "cognitoEndpoint": "http://127.0.0.1:5000" }
 *   }
 * }
 */
export interface PasswordLoginConfig {
  /** URL that answers Cognito's `InitiateAuth` (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH): the emulator's endpoint. */
  cognitoEndpoint: string;
  /** Region named in the request (the emulator ignores it). Default us-east-1. */
  region?: string;
}

export interface AuthConfig {
  /** OIDC issuer URL. */
  authority: string;
  clientId: string;
  /** Members of this group see the admin pages. */
  adminGroup: string;
  /** Dotted path of the groups claim in the ID token, e.g. `cognito:groups` or `realm_access.roles`. */
  jwtGroupsProperty: string;
  /** Extra scopes asked for beyond `openid profile email`. */
  additionalScopes?: string[];
  /** The whole scope list, when the deployment gives it (wins over additionalScopes). */
  scopes?: string[];
  /** Present: sign in with a username/password form against this Cognito endpoint instead of the OIDC redirect. */
  passwordLogin?: PasswordLoginConfig | null;
}

export interface RuntimeConfig {
  /**
   * OpenAI-compatible base URL, ending in `/v2/serve` (the URL an OpenAI client uses as `base_url`).
   * Also read: `openAiBaseUrl` (wins when present); a serve URL without a path gets `/v2/serve` added.
   */
  serveUrl: string;
  /** Base URL of the api app: `/models`, `/tokens`, `/session`, `/repository` live under it. */
  apiUrl: string;
  auth: AuthConfig;
  /** Shown in the header; default "LISA". */
  title?: string;
}

export class ConfigProblem extends Error {}

function requireString(value: unknown, path: string, problems: string[]): string {
  if (typeof value !== "string" || value.trim() === "") {
    problems.push(`${path}: expected a non-empty string`);
    return "";
  }
  return value.trim();
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** The OpenAI base URL: `/v2/serve` added to a bare serve origin. */
export function openAiBase(url: string): string {
  const bare = stripSlash(url);
  return /\/v\d+(\/serve)?$/.test(bare) ? bare : `${bare}/v2/serve`;
}

function stringList(value: unknown, path: string, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((s) => typeof s !== "string")) {
    problems.push(`${path}: expected a list of strings`);
    return [];
  }
  return value as string[];
}

/** Validates the raw JSON of `/config.json`; throws ConfigProblem naming every missing or wrong field. */
export function parseRuntimeConfig(raw: unknown): RuntimeConfig {
  const problems: string[] = [];
  const root = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const auth = (root.auth && typeof root.auth === "object" ? root.auth : {}) as Record<string, unknown>;
  if (typeof raw !== "object" || raw === null) problems.push("config.json: expected a JSON object");
  const serveUrl = openAiBase(
    requireString(root.openAiBaseUrl ?? root.serveUrl, root.openAiBaseUrl ? "openAiBaseUrl" : "serveUrl", problems),
  );
  const apiUrl = stripSlash(requireString(root.apiUrl, "apiUrl", problems));
  const authority = stripSlash(requireString(auth.authority, "auth.authority", problems));
  const clientId = requireString(auth.clientId, "auth.clientId", problems);
  const adminGroup = requireString(auth.adminGroup, "auth.adminGroup", problems);
  const jwtGroupsProperty =
    auth.jwtGroupsProperty === undefined
      ? "cognito:groups"
      : requireString(auth.jwtGroupsProperty, "auth.jwtGroupsProperty", problems);
  const additionalScopes = stringList(auth.additionalScopes, "auth.additionalScopes", problems);
  const scopes = stringList(auth.scopes, "auth.scopes", problems);
  let passwordLogin: PasswordLoginConfig | null = null;
  if (auth.passwordLogin) {
    const pl = auth.passwordLogin as Record<string, unknown>;
    passwordLogin = {
      cognitoEndpoint: stripSlash(requireString(pl.cognitoEndpoint, "auth.passwordLogin.cognitoEndpoint", problems)),
      region: typeof pl.region === "string" && pl.region ? pl.region : "us-east-1",
    };
  }
  if (problems.length) throw new ConfigProblem(problems.join("; "));
  return {
    serveUrl,
    apiUrl,
    title: typeof root.title === "string" && root.title ? root.title : "LISA",
    auth: {
      authority,
      clientId,
      adminGroup,
      jwtGroupsProperty,
      additionalScopes,
      scopes: scopes.length ? scopes : undefined,
      passwordLogin,
    },
  };
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
