import { describe, expect, it } from "vitest";
import type { TokenInfo } from "../api/clients";
import { expiryFromDays, expiryProblem, ownTokens } from "./tokenRules";

function token(tokenUUID: string, userId: string, createdDate: number): TokenInfo {
  return { tokenUUID, userId, createdDate, username: userId, isExpired: false };
}

describe("token rules", () => {
  const now = Date.parse("2025-03-10T00:00:00Z");

  it("turns days into an expiry, blank into the api's default", () => {
    expect(expiryFromDays("30", now)).toBe(now / 1000 + 30 * 86400);
    expect(expiryFromDays(" ", now)).toBeNull();
    expect([expiryProblem("0"), expiryProblem("x"), expiryProblem("1.5"), expiryProblem("")]).toEqual([
      "Expires in: a number of days above 0.",
      "Expires in: a number of days above 0.",
      null,
      null,
    ]);
  });

  it("keeps the caller's own tokens, newest first", () => {
    const tokens = [token("a", "me", 1), token("b", "someone", 3), token("c", "me", 2)];
    expect(ownTokens(tokens, "me").map((t) => t.tokenUUID)).toEqual(["c", "a"]);
  });
});
