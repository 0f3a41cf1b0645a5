import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { McpServer, McpServerRequest, McpTestResult } from "../api/chatApi";
import { chatKeys, mcpServersQuery } from "../app/chatQueries";
import { queryError } from "../app/queries";
import { useServices } from "../app/services";
import { ErrorBox } from "../ui/ConfirmDialog";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { useAction, useEditor } from "../ui/useAction";

interface HeaderRow {
  name: string;
  value: string;
}

interface Draft {
  name: string;
  description: string;
  url: string;
  transport: "streamable-http" | "sse";
  approval: "auto" | "ask";
  enabled: boolean;
  groups: string;
  publish: boolean;
  headers: HeaderRow[];
  /** Editing: keep the stored headers unless new ones are typed. */
  replaceHeaders: boolean;
}

const EMPTY: Draft = {
  name: "",
  description: "",
  url: "",
  transport: "streamable-http",
  approval: "auto",
  enabled: true,
  groups: "",
  publish: false,
  headers: [],
  replaceHeaders: true,
};

function draftOf(server: McpServer): Draft {
  return {
    name: server.name,
    description: server.description ?? "",
    url: server.url,
    transport: server.transport,
    approval: server.approval,
    enabled: server.enabled,
    groups: server.allowedGroups.join(", "),
    publish: server.owner === "lisa:public",
    headers: server.customHeaderNames.map((name) => ({ name, value: "" })),
    replaceHeaders: false,
  };
}

function requestOf(draft: Draft, isAdmin: boolean): McpServerRequest {
  const headers = Object.fromEntries(draft.headers.filter((h) => h.name.trim()).map((h) => [h.name.trim(), h.value]));
  return {
    name: draft.name.trim(),
    description: draft.description.trim() || null,
    url: draft.url.trim(),
    transport: draft.transport,
    approval: draft.approval,
    enabled: draft.enabled,
    allowedGroups: draft.groups
      .split(",")
      .map((g) => g.trim())
      .filter(Boolean),
    ...(isAdmin && draft.publish ? { owner: "lisa:public" } : {}),
    ...(draft.replaceHeaders ? { customHeaders: headers } : {}),
  };
}

function TestResult({ result }: { result: McpTestResult }) {
  return result.ok ? (
    <div className="notice" role="status" data-testid="mcp-test-result">
      Connected in {result.durationMs} ms. Tools: {result.tools.map((t) => t.name).join(", ") || "none"}
    </div>
  ) : (
    <div className="error-box" role="alert" data-testid="mcp-test-result">
      {result.error}
    </div>
  );
}

/** LISA's MCP connections: register servers whose tools the chat may call, test them, share them with groups. */
export function McpServersPage() {
  const { chat, user } = useServices();
  const client = useQueryClient();
  const query = useQuery(mcpServersQuery(chat));
  const servers = query.data ?? [];
  const { editing, draft, set, start, reset } = useEditor<Draft, string>(EMPTY);
  const { busy, error, run } = useAction();
  const [tests, setTests] = useState<Record<string, McpTestResult>>({});
  const reload = () => client.invalidateQueries({ queryKey: chatKeys.mcpServers });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const body = requestOf(draft, user.isAdmin);
      if (editing) await chat.updateMcpServer(editing, body);
      else await chat.createMcpServer(body);
      reset();
      await reload();
    });
  };

  const test = (key: string, call: () => Promise<McpTestResult>) =>
    run(async () => {
      const result = await call();
      setTests((t) => ({ ...t, [key]: result }));
    });

  return (
    <section className="page" aria-labelledby="mcp-title">
      <h1 id="mcp-title">Tool connections (MCP)</h1>
      <p className="muted">
        Connect MCP servers; in a chat, choose them under <strong>Tools</strong> and the model may call their tools.
        Headers (API keys) are stored encrypted and never shown again.
      </p>
      <ErrorBox error={error ?? queryError(query)} />
      <form className="card form-grid" onSubmit={submit} aria-label={editing ? "Edit connection" : "New connection"}>
        <h2>{editing ? "Edit connection" : "New connection"}</h2>
        <label>
          Name
          <input required maxLength={100} value={draft.name} onChange={(e) => set({ name: e.target.value })} />
        </label>
        <label>
          URL
          <input
            required
            type="url"
            placeholder="https://tools.example.com/mcp"
            value={draft.url}
            onChange={(e) => set({ url: e.target.value })}
          />
        </label>
        <label>
          Transport
          <select value={draft.transport} onChange={(e) => set({ transport: e.target.value as Draft["transport"] })}>
            <option value="streamable-http">Streamable HTTP</option>
            <option value="sse">SSE (older servers)</option>
          </select>
        </label>
        <label>
          Each call
          <select value={draft.approval} onChange={(e) => set({ approval: e.target.value as Draft["approval"] })}>
            <option value="auto">runs at once</option>
            <option value="ask">waits for my approval</option>
          </select>
        </label>
        <label>
          Description
          <input value={draft.description} maxLength={1000} onChange={(e) => set({ description: e.target.value })} />
        </label>
        <label>
          Share with groups (comma-separated)
          <input value={draft.groups} onChange={(e) => set({ groups: e.target.value })} />
        </label>
        <fieldset className="headers">
          <legend>Headers</legend>
          {!draft.replaceHeaders ? (
            <p className="muted small-text">
              Stored: {draft.headers.map((h) => h.name).join(", ") || "none"}.{" "}
              <button type="button" className="small" onClick={() => set({ replaceHeaders: true, headers: [] })}>
                Replace them
              </button>
            </p>
          ) : (
            <>
              {draft.headers.map((h, i) => (
                <div className="row" key={i}>
                  <input
                    aria-label="Header name"
                    placeholder="x-api-key"
                    value={h.name}
                    onChange={(e) =>
                      set({ headers: draft.headers.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)) })
                    }
                  />
                  <input
                    aria-label="Header value"
                    type="password"
                    autoComplete="off"
                    value={h.value}
                    onChange={(e) =>
                      set({ headers: draft.headers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)) })
                    }
                  />
                  <button
                    type="button"
                    className="small"
                    onClick={() => set({ headers: draft.headers.filter((_, j) => j !== i) })}
                  >
                    Remove
                  </button>
                </div>
              ))}
              <button
                type="button"
                className="small"
                onClick={() => set({ headers: [...draft.headers, { name: "", value: "" }] })}
              >
                Add a header
              </button>
            </>
          )}
        </fieldset>
        <label className="check">
          <input type="checkbox" checked={draft.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
          Enabled
        </label>
        {user.isAdmin ? (
          <label className="check">
            <input type="checkbox" checked={draft.publish} onChange={(e) => set({ publish: e.target.checked })} />
            Everyone may use it
          </label>
        ) : null}
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            {editing ? "Save" : "Add connection"}
          </button>
          <button
            type="button"
            disabled={busy || !draft.url}
            onClick={() =>
              void test("draft", () => chat.testMcpDraft(requestOf({ ...draft, replaceHeaders: true }, false)))
            }
          >
            Test connection
          </button>
          {editing ? (
            <button type="button" onClick={reset}>
              Cancel
            </button>
          ) : null}
        </div>
        {tests.draft ? <TestResult result={tests.draft} /> : null}
      </form>
      <table className="table" aria-label="Connections">
        <thead>
          <tr>
            <th>Name</th>
            <th>URL</th>
            <th>Shared with</th>
            <th>Calls</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {servers.map((s) => (
            <tr key={s.id} data-testid="mcp-server-row">
              <td>{s.name}</td>
              <td className="small-text">{s.url}</td>
              <td>{s.owner === "lisa:public" ? "everyone" : s.allowedGroups.join(", ") || "only its owner"}</td>
              <td>{s.approval === "ask" ? "ask first" : "automatic"}</td>
              <td>{s.enabled ? "enabled" : "disabled"}</td>
              <td className="row">
                <button
                  type="button"
                  className="small"
                  disabled={busy}
                  onClick={() => void test(s.id, () => chat.testMcpServer(s.id))}
                >
                  Test
                </button>
                {s.isOwner || user.isAdmin ? (
                  <>
                    <button type="button" className="small" onClick={() => start(s.id, draftOf(s))}>
                      Edit
                    </button>
                    <ConfirmDeleteButton
                      label={`Delete ${s.name}`}
                      title="Delete this connection?"
                      onConfirm={() => run(async () => (await chat.deleteMcpServer(s.id), await reload()))}
                    >
                      <p>Chats will no longer offer its tools.</p>
                    </ConfirmDeleteButton>
                  </>
                ) : null}
                {tests[s.id] ? <TestResult result={tests[s.id]} /> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!query.isPending && !servers.length ? <p className="muted">No connections yet.</p> : null}
    </section>
  );
}
