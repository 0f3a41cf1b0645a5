/** LISA's roles as the UI needs them (the api decides; the UI only hides what the caller may not use). */
import type { AuthUser } from "./claims";

/** Admins and members of the API group issue their own API tokens; with no API group set, admins only. */
export function mayIssueTokens(
  user: Pick<AuthUser, "isAdmin" | "groups">,
  apiGroup: string | null | undefined,
): boolean {
  return user.isAdmin || (!!apiGroup && user.groups.includes(apiGroup));
}
