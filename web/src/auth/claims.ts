/** Reading an ID token's claims: who the user is and whether they are an admin. Signature checks are the server's job. */
import { asString, isObject } from "../api/json";

export interface AuthUser {
  sub: string;
  username: string;
  groups: string[];
  isAdmin: boolean;
  /** Expiry of the ID token, in ms since the epoch. */
  expiresAt: number;
}

function base64UrlDecode(part: string): string {
  const base64 = part
    .replace(/-/g, "+")
    .replace(/_/g, "/")
    .padEnd(Math.ceil(part.length / 4) * 4, "=");
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

export function decodeJwtPayload(token: string): Record<string, unknown> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("not a JWT");
  const payload: unknown = JSON.parse(base64UrlDecode(parts[1]));
  if (!isObject(payload)) throw new Error("JWT payload is not an object");
  return payload;
}

/** The value at a dotted claim path (`realm_access.roles`); a key that itself holds dots or colons is tried whole first. */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path in claims) return claims[path];
  let node: unknown = claims;
  for (const key of path.split(".")) {
    if (!isObject(node) || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

export function groupsFromClaims(claims: Record<string, unknown>, groupsProperty: string): string[] {
  const value = claimAt(claims, groupsProperty);
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === "string");
  if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

export function userFromIdToken(idToken: string, groupsProperty: string, adminGroup: string): AuthUser {
  const claims = decodeJwtPayload(idToken);
  const groups = groupsFromClaims(claims, groupsProperty);
  const username =
    [claims["cognito:username"], claims.preferred_username, claims.email, claims.name, claims.sub]
      .map(asString)
      .find((name) => name !== undefined) ?? "";
  return {
    sub: asString(claims.sub) ?? "",
    username,
    groups,
    isAdmin: groups.includes(adminGroup),
    expiresAt: typeof claims.exp === "number" ? claims.exp * 1000 : 0,
  };
}

/** True when a token expiring at `expiresAt` should be refreshed now (within `marginMs` of expiry). */
export function needsRefresh(expiresAt: number, now: number, marginMs = 60_000): boolean {
  return expiresAt - now <= marginMs;
}
