/** The token pages' rules, apart from the screens. */
import type { TokenInfo } from "../api/clients";

export const DEFAULT_EXPIRY_DAYS = 90;

/** `tokenExpiration` (unix seconds) for "expires in N days"; null (the api's default, 90 days) when blank. */
export function expiryFromDays(days: string, now: number): number | null {
  const text = days.trim();
  if (!text) return null;
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? Math.floor(now / 1000 + n * 86400) : null;
}

/** A problem with "expires in N days", or null. */
export function expiryProblem(days: string): string | null {
  const text = days.trim();
  if (!text) return null;
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? null : "Expires in: a number of days above 0.";
}

/** The caller's own tokens (an admin's `GET /api-tokens` lists everyone's), newest first. */
export function ownTokens(tokens: TokenInfo[], userId: string): TokenInfo[] {
  return tokens.filter((t) => t.userId === userId).sort((a, b) => b.createdDate - a.createdDate);
}

export function formatTime(seconds?: number | null): string {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "never";
}
