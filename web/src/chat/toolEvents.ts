/**
 * The tool activity of an answer, from the `tool_event`s the api streams with chat-with-tools
 * (services/api/tool_chat.py): each call's state as it moves from asked for, through approval, to its result.
 */
import { asNumber, asObject, asString, type JsonObject } from "../api/json";

export type ToolCallStatus = "running" | "awaiting" | "ok" | "error" | "timeout" | "rejected" | "expired";

export interface ToolCallView {
  id: string;
  name: string;
  server: string;
  arguments: unknown;
  status: ToolCallStatus;
  result?: string;
  truncated?: boolean;
  durationMs?: number;
  approvalId?: string;
  expiresAt?: string;
}

const FINAL: ToolCallStatus[] = ["ok", "error", "timeout", "rejected", "expired"];

function status(value: unknown): ToolCallStatus {
  const text = asString(value);
  return text && (FINAL as string[]).includes(text) ? (text as ToolCallStatus) : "error";
}

/** The calls and notices after one event (pure; unknown events change nothing). */
export function applyToolEvent(
  calls: ToolCallView[],
  notices: string[],
  raw: JsonObject,
): { calls: ToolCallView[]; notices: string[] } {
  const event = asObject(raw);
  const id = asString(event.id) ?? "";
  const update = (change: Partial<ToolCallView>) => {
    const known = calls.some((c) => c.id === id);
    const base: ToolCallView = {
      id,
      name: asString(event.name) ?? "tool",
      server: asString(event.server) ?? "",
      arguments: event.arguments,
      status: "running",
    };
    return known ? calls.map((c) => (c.id === id ? { ...c, ...change } : c)) : [...calls, { ...base, ...change }];
  };
  switch (event.type) {
    case "tool_call":
      return { calls: update({ status: "running" }), notices };
    case "approval_required":
      return {
        calls: update({
          status: "awaiting",
          approvalId: asString(event.approvalId),
          expiresAt: asString(event.expiresAt),
        }),
        notices,
      };
    case "approval":
      return { calls: update({ status: event.decision === "approved" ? "running" : status(event.decision) }), notices };
    case "tool_result":
      return {
        calls: update({
          status: status(event.status),
          result: asString(event.result) ?? "",
          truncated: event.truncated === true,
          durationMs: asNumber(event.durationMs),
        }),
        notices,
      };
    case "server_error":
    case "limit":
      return { calls, notices: [...notices, asString(event.message) ?? "A tool connection failed."] };
    default:
      return { calls, notices };
  }
}

/** Calls still waiting when the answer ended are settled, so a saved session never shows a spinner. */
export function settleToolCalls(calls: ToolCallView[]): ToolCallView[] {
  return calls.map((c) => (c.status === "running" || c.status === "awaiting" ? { ...c, status: "expired" } : c));
}
