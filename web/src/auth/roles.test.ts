import { describe, expect, it } from "vitest";
import { mayIssueTokens } from "./roles";

describe("mayIssueTokens", () => {
  it("lets admins and API group members issue their own tokens", () => {
    expect(mayIssueTokens({ isAdmin: true, groups: [] }, "api")).toBe(true);
    expect(mayIssueTokens({ isAdmin: false, groups: ["team", "api"] }, "api")).toBe(true);
    expect(mayIssueTokens({ isAdmin: false, groups: ["team"] }, "api")).toBe(false);
  });

  it("leaves it to admins when no API group is set", () => {
    expect(mayIssueTokens({ isAdmin: false, groups: [""] }, "")).toBe(false);
    expect(mayIssueTokens({ isAdmin: false, groups: [] }, undefined)).toBe(false);
    expect(mayIssueTokens({ isAdmin: true, groups: [] }, "")).toBe(true);
  });
});
