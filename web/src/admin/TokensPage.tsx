import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { keys, queryError, tokensQuery } from "../app/queries";
import { useServices } from "../app/services";
import type { TokenInfo } from "../api/clients";
import { ApiError, describeError } from "../api/errors";
import { ErrorBox } from "../ui/ConfirmDialog";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { CopyButton } from "../ui/CopyButton";

function date(seconds?: number | null): string {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "never";
}

export function TokensPage() {
  const { api } = useServices();
  const client = useQueryClient();
  const query = useQuery(tokensQuery(api));
  const tokens = query.data ?? [];
  const [actionError, setError] = useState<string | null>(null);
  const error = actionError ?? queryError(query);
  const [problems, setProblems] = useState<string[]>([]);
  const [name, setName] = useState("");
  const [username, setUsername] = useState("");
  const [groups, setGroups] = useState("");
  const [isSystemToken, setIsSystemToken] = useState(false);
  const [days, setDays] = useState("90");
  const [issued, setIssued] = useState<(TokenInfo & { token: string }) | null>(null);
  const [busy, setBusy] = useState(false);
  const reload = () => client.invalidateQueries({ queryKey: keys.tokens });

  async function issue(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setProblems([]);
    try {
      const expiresIn = days.trim() ? Number(days) : null;
      const token = await api.issueToken({
        name: name.trim(),
        username: username.trim() || undefined,
        groups: groups
          .split(",")
          .map((g) => g.trim())
          .filter(Boolean),
        isSystemToken,
        tokenExpiration:
          expiresIn !== null && Number.isFinite(expiresIn) ? Math.floor(Date.now() / 1000 + expiresIn * 86400) : null,
      });
      setIssued(token);
      setName("");
      await reload();
    } catch (e) {
      setError(describeError(e));
      setProblems(e instanceof ApiError ? e.problems : []);
    } finally {
      setBusy(false);
    }
  }

  async function revoke(token: TokenInfo) {
    setError(null);
    try {
      await api.revokeToken(token.tokenUUID);
      if (issued?.tokenUUID === token.tokenUUID) setIssued(null);
    } catch (e) {
      setError(describeError(e));
    }
    await reload();
  }

  return (
    <section className="page" aria-labelledby="tokens-title">
      <h1 id="tokens-title">API tokens</h1>
      <p className="muted">
        For OpenAI clients and scripts: send a token as <code>Authorization: Bearer &lt;token&gt;</code> to the serve
        API.
      </p>
      <form className="card" onSubmit={(e) => void issue(e)} aria-label="Issue a token">
        <div className="grid3">
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. laptop" />
          </label>
          <label>
            User
            <input value={username} onChange={(e) => setUsername(e.target.value)} placeholder="you (your groups)" />
          </label>
          <label>
            Expires in (days)
            <input type="number" min={1} value={days} onChange={(e) => setDays(e.target.value)} placeholder="never" />
          </label>
          <label>
            Groups for another user (comma-separated)
            <input value={groups} onChange={(e) => setGroups(e.target.value)} disabled={!username.trim()} />
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={isSystemToken}
              onChange={(e) => setIsSystemToken(e.target.checked)}
              disabled={!username.trim()}
            />
            System token
          </label>
        </div>
        <ErrorBox error={error} problems={problems} />
        <button type="submit" className="primary" disabled={busy}>
          Issue token
        </button>
      </form>

      {issued ? (
        <div className="card issued" role="status" data-testid="issued-token">
          <p>
            <strong>Copy this token now.</strong> It is shown only once.
          </p>
          <div className="row wrap">
            <code className="token" data-testid="issued-token-value">
              {issued.token}
            </code>
            <CopyButton text={() => issued.token} sticky />
            <button type="button" className="small" onClick={() => setIssued(null)}>
              Done
            </button>
          </div>
        </div>
      ) : null}

      <div className="table-wrap">
        <table aria-label="API tokens">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Token ID</th>
              <th scope="col">User</th>
              <th scope="col">Groups</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {query.isSuccess && !tokens.length ? (
              <tr>
                <td colSpan={7} className="muted">
                  No tokens.
                </td>
              </tr>
            ) : null}
            {tokens.map((t) => (
              <tr key={t.tokenUUID} data-testid="token-row" data-token-id={t.tokenUUID}>
                <td>{t.name || <span className="muted">unnamed</span>}</td>
                <td>
                  <code>{t.tokenUUID}</code>
                </td>
                <td>
                  {t.username}
                  {t.isSystemToken ? <span className="muted"> (system)</span> : null}
                </td>
                <td>{t.groups?.join(", ") || <span className="muted">none</span>}</td>
                <td>{date(t.createdDate)}</td>
                <td>{date(t.tokenExpiration)}</td>
                <td>
                  <ConfirmDeleteButton
                    label={`Revoke ${t.name || t.tokenUUID}`}
                    title="Revoke this token?"
                    action="Revoke"
                    onConfirm={() => revoke(t)}
                  >
                    <p>Clients using “{t.name || t.tokenUUID}” will be refused from now on.</p>
                  </ConfirmDeleteButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
