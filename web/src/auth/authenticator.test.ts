import { describe, expect, it } from "vitest";
import { isSigninCallback } from "./authenticator";

describe("isSigninCallback", () => {
  it("is the root with code and state", () => {
    expect(isSigninCallback({ pathname: "/", search: "?code=abc&state=xyz" })).toBe(true);
  });

  it("is also an error answer with state", () => {
    expect(isSigninCallback({ pathname: "/", search: "?error=access_denied&state=xyz" })).toBe(true);
  });

  it("is not an ordinary page", () => {
    expect(isSigninCallback({ pathname: "/", search: "" })).toBe(false);
    expect(isSigninCallback({ pathname: "/chat/1", search: "?code=abc&state=xyz" })).toBe(false);
  });
});
