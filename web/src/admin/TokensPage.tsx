import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { queryError, tokensQuery } from "../app/queries";
import { useServices } from "../app/services";
import { IssuedTokenNotice, TokenTable } from "../governance/TokenTable";
import { DEFAULT_EXPIRY_DAYS, expiryFromDays } from "../governance/tokenRules";
import { useTokenActions } from "../governance/useTokenActions";
import { ErrorBox } from "../ui/ConfirmDialog";

export function TokensPage() {
  const { api } = useServices();
  const query = useQuery(tokensQuery(api));
  const tokens = query.data ?? [];
  const actions = useTokenActions();
  const [name, setName] = useState("");
  const [username, setUsername] = useState("");
  const [groups, setGroups] = useState("");
  const [isSystemToken, setIsSystemToken] = useState(false);
  const [days, setDays] = useState(String(DEFAULT_EXPIRY_DAYS));

  async function issue(event: FormEvent) {
    event.preventDefault();
    const issued = await actions.issue({
      name: name.trim(),
      username: username.trim() || undefined,
      groups: groups
        .split(",")
        .map((g) => g.trim())
        .filter(Boolean),
      isSystemToken,
      tokenExpiration: expiryFromDays(days, Date.now()),
    });
    if (issued) setName("");
  }

  return (
    <section className="page" aria-labelledby="tokens-title">
      <h1 id="tokens-title">API tokens</h1>
      <p className="muted">
        Everyone&apos;s tokens. For OpenAI clients and scripts: send a token as{" "}
        <code>Authorization: Bearer &lt;token&gt;</code> to the serve API.
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
            <input
              type="number"
              min={1}
              value={days}
              onChange={(e) => setDays(e.target.value)}
              placeholder={`${DEFAULT_EXPIRY_DAYS} (default)`}
            />
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
        <ErrorBox error={actions.error ?? queryError(query)} problems={actions.problems} />
        <button type="submit" className="primary" disabled={actions.busy}>
          Issue token
        </button>
      </form>

      <IssuedTokenNotice issued={actions.issued} onDone={actions.dismiss} />
      <TokenTable tokens={tokens} loaded={query.isSuccess} showUser onRevoke={actions.revoke} />
    </section>
  );
}
