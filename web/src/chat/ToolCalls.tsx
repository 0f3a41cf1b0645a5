import { useState } from "react";
import { useServices } from "../app/services";
import { describeError } from "../api/errors";
import type { ToolCallView } from "./toolEvents";

const STATUS_TEXT: Record<ToolCallView["status"], string> = {
  running: "running…",
  awaiting: "waiting for your approval",
  ok: "done",
  error: "failed",
  timeout: "timed out",
  rejected: "declined",
  expired: "not run",
};

function pretty(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value ?? {}, null, 2);
}

/** The tools an answer called: each with its server, arguments, result, status and time; approval asked here. */
export function ToolCalls(props: { calls: ToolCallView[]; notices: string[] }) {
  if (!props.calls.length && !props.notices.length) return null;
  return (
    <div className="tool-calls" aria-label="Tool calls" data-testid="tool-calls">
      {props.notices.map((notice, i) => (
        <p key={i} className="tool-notice" role="status">
          {notice}
        </p>
      ))}
      {props.calls.map((call) => (
        <ToolCall key={call.id} call={call} />
      ))}
    </div>
  );
}

function ToolCall({ call }: { call: ToolCallView }) {
  const { chat } = useServices();
  const [deciding, setDeciding] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function decide(approve: boolean) {
    if (!call.approvalId) return;
    setDeciding(true);
    try {
      await chat.decideApproval(call.approvalId, approve);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setDeciding(false);
    }
  }

  return (
    <details className={`tool-call ${call.status}`} open={call.status === "awaiting"} data-testid="tool-call">
      <summary>
        <span className="tool-name">{call.name}</span>
        {call.server ? <span className="muted small-text"> on {call.server}</span> : null}
        <span className={`tool-status ${call.status}`} data-testid="tool-status">
          {STATUS_TEXT[call.status]}
        </span>
        {call.durationMs !== undefined ? <span className="muted small-text">{call.durationMs} ms</span> : null}
      </summary>
      <div className="tool-body">
        <div>
          <span className="muted small-text">Arguments</span>
          <pre data-testid="tool-arguments">{pretty(call.arguments)}</pre>
        </div>
        {call.result !== undefined ? (
          <div>
            <span className="muted small-text">Result{call.truncated ? " (cut to fit)" : ""}</span>
            <pre data-testid="tool-result">{call.result}</pre>
          </div>
        ) : null}
        {call.status === "awaiting" ? (
          <div className="row">
            <button type="button" className="primary" disabled={deciding} onClick={() => void decide(true)}>
              Allow this call
            </button>
            <button type="button" disabled={deciding} onClick={() => void decide(false)}>
              Decline
            </button>
          </div>
        ) : null}
        {error ? (
          <p className="error-box" role="alert">
            {error}
          </p>
        ) : null}
      </div>
    </details>
  );
}
