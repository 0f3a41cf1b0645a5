import { describe, expect, it } from "vitest";
import type { SessionSummary } from "../api/clients";
import { groupSessions } from "./sessionGroups";

function session(id: string, extra: Partial<SessionSummary> = {}): SessionSummary {
  return {
    sessionId: id,
    name: id,
    model: "m",
    lastUpdated: "2026-01-01T00:00:00Z",
    version: 1,
    pinned: false,
    projectId: null,
    totalTokensUsed: 0,
    isEncrypted: false,
    firstHumanMessage: "",
    messageCount: 1,
    ...extra,
  };
}

describe("the sidebar's sections", () => {
  const sessions = [
    session("a", { pinned: true, projectId: "p1" }),
    session("b", { projectId: "p1" }),
    session("c"),
    session("d", { projectId: "gone" }),
  ];

  it("puts pinned sessions first, then folders, then the rest", () => {
    const groups = groupSessions(sessions, [{ projectId: "p1", name: "Research" }], true);
    expect(groups.map((g) => [g.title, g.sessions.map((s) => s.sessionId)])).toEqual([
      ["Pinned", ["a"]],
      ["Research", ["b"]],
      ["History", ["c", "d"]],
    ]);
  });

  it("shows no folders when projects are switched off", () => {
    const groups = groupSessions(sessions, [{ projectId: "p1", name: "Research" }], false);
    expect(groups.map((g) => g.title)).toEqual(["Pinned", "History"]);
  });
});
