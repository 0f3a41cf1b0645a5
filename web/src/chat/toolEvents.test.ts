import { describe, expect, it } from "vitest";
import { applyToolEvent, settleToolCalls, type ToolCallView } from "./toolEvents";

function run(events: Record<string, unknown>[]) {
  let state: { calls: ToolCallView[]; notices: string[] } = { calls: [], notices: [] };
  for (const e of events) state = applyToolEvent(state.calls, state.notices, e);
  return state;
}

const call = { id: "c1", name: "search", server: "docs", arguments: { q: "tides" }, round: 1 };

describe("tool events", () => {
  it("follow a call from asked for to its result", () => {
    const { calls } = run([
      { type: "tool_call", ...call },
      { type: "tool_result", ...call, status: "ok", result: "found", truncated: false, durationMs: 12 },
    ]);
    expect(calls).toEqual([
      {
        id: "c1",
        name: "search",
        server: "docs",
        arguments: { q: "tides" },
        status: "ok",
        result: "found",
        truncated: false,
        durationMs: 12,
      },
    ]);
  });

  it("wait for approval, then run or stop", () => {
    const asked = run([
      { type: "tool_call", ...call },
      { type: "approval_required", ...call, approvalId: "a1", expiresAt: "2030-01-01T00:00:00Z" },
    ]);
    expect(asked.calls[0]).toMatchObject({ status: "awaiting", approvalId: "a1" });
    const rejected = run([
      { type: "approval_required", ...call, approvalId: "a1" },
      { type: "approval", ...call, decision: "rejected" },
    ]);
    expect(rejected.calls[0].status).toBe("rejected");
  });

  it("turn connection failures and the round limit into notices", () => {
    const { calls, notices } = run([
      { type: "server_error", server: "down", message: "MCP server 'down' is unreachable" },
      { type: "limit", message: "the model asked for tools 8 rounds in a row" },
    ]);
    expect(calls).toEqual([]);
    expect(notices).toHaveLength(2);
  });

  it("settle calls left waiting when the answer ended", () => {
    const { calls } = run([{ type: "tool_call", ...call }]);
    expect(settleToolCalls(calls)[0].status).toBe("expired");
  });
});
