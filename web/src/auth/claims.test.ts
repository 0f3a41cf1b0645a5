import { describe, expect, it } from "vitest";
import { claimAt, decodeJwtPayload, groupsFromClaims, needsRefresh, userFromIdToken } from "./claims";

function jwt(payload: Record<string, unknown>): string {
  const enc = (o: unknown) =>
    btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(o))))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  return `${enc({ alg: "RS256" })}.${enc(payload)}.sig`;
}

describe("ID token claims", () => {
  it("decodes a base64url payload with non-ASCII text", () => {
    expect(decodeJwtPayload(jwt({ name: "Zoë" })).name).toBe("Zoë");
  });

  it("refuses something that is not a JWT", () => {
    expect(() => decodeJwtPayload("abc")).toThrow("not a JWT");
  });

  it("finds a claim whose name holds a colon, and a dotted nested claim", () => {
    const claims = { "cognito:groups": ["a"], realm_access: { roles: ["r"] } };
    expect([claimAt(claims, "cognito:groups"), claimAt(claims, "realm_access.roles"), claimAt(claims, "x.y")]).toEqual([
      ["a"],
      ["r"],
      undefined,
    ]);
  });

  it("reads groups given as a list or a string", () => {
    expect(groupsFromClaims({ g: "a, b c" }, "g")).toEqual(["a", "b", "c"]);
    expect(groupsFromClaims({ g: 3 }, "g")).toEqual([]);
  });

  it("makes members of the admin group admins", () => {
    const token = jwt({ sub: "u1", "cognito:username": "alice", "cognito:groups": ["lisa-admins"], exp: 100 });
    expect(userFromIdToken(token, "cognito:groups", "lisa-admins")).toEqual({
      sub: "u1",
      username: "alice",
      groups: ["lisa-admins"],
      isAdmin: true,
      expiresAt: 100_000,
    });
  });

  it("does not make others admins", () => {
    expect(
      userFromIdToken(jwt({ sub: "u2", "cognito:groups": ["users"] }), "cognito:groups", "lisa-admins").isAdmin,
    ).toBe(false);
  });

  it("refreshes within the margin before expiry", () => {
    expect([needsRefresh(100_000, 30_000), needsRefresh(100_000, 50_000)]).toEqual([false, true]);
  });
});
