/** "My API tokens": a user's own tokens (issue, list, revoke), for admins and members of the API group. */
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { queryError, tokensQuery } from "../app/queries";
import { useServices } from "../app/services";
import { mayIssueTokens } from "../auth/roles";
import { ErrorBox } from "../ui/ConfirmDialog";
import { IssuedTokenNotice, TokenTable } from "./TokenTable";
import { DEFAULT_EXPIRY_DAYS, expiryFromDays, expiryProblem, ownTokens } from "./tokenRules";
import { useTokenActions } from "./useTokenActions";

export function MyTokensPage() {
  const { api, user, config } = useServices();
  const apiGroup = config.auth.apiGroup ?? "";
  const allowed = mayIssueTokens(user, apiGroup);
  const query = useQuery(tokensQuery(api));
  const tokens = ownTokens(query.data ?? [], user.sub);
  const actions = useTokenActions();
  const [name, setName] = useState("");
  const [days, setDays] = useState(String(DEFAULT_EXPIRY_DAYS));
  const [formProblem, setFormProblem] = useState<string | null>(null);

  async function issue(event: FormEvent) {
    event.preventDefault();
    const problem = !name.trim() ? "Name: give the token a name." : expiryProblem(days);
    setFormProblem(problem);
    if (problem) return;
    if (await actions.issue({ name: name.trim(), tokenExpiration: expiryFromDays(days, Date.now()) })) setName("");
  }

  return (
    <section className="page" aria-labelledby="my-tokens-title">
      <h1 id="my-tokens-title">My API tokens</h1>
      <p className="muted">
        For OpenAI clients and scripts: use <code>{config.serveUrl}</code> as the base URL and send a token as{" "}
        <code>Authorization: Bearer &lt;token&gt;</code>. A token acts as you, with your groups, until it expires or you
        revoke it.
      </p>
      {allowed ? (
        <form className="card" onSubmit={(e) => void issue(e)} aria-label="Create a token">
          <div className="grid3">
            <label>
              Name
              <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. laptop" maxLength={256} />
            </label>
            <label>
              Expires in (days)
              <input type="number" min={1} value={days} onChange={(e) => setDays(e.target.value)} />
            </label>
          </div>
          <ErrorBox error={formProblem ?? actions.error ?? queryError(query)} problems={actions.problems} />
          <button type="submit" className="primary" disabled={actions.busy}>
            Create token
          </button>
        </form>
      ) : (
        <div className="card" role="note" data-testid="tokens-not-allowed">
          <p>
            <strong>You cannot create API tokens.</strong>{" "}
            {apiGroup ? (
              <>
                Administrators and members of the <code>{apiGroup}</code> group can; ask an administrator to add you to
                it.
              </>
            ) : (
              <>On this platform only administrators can; ask one for a token if you need one.</>
            )}
          </p>
          <ErrorBox error={actions.error ?? queryError(query)} />
        </div>
      )}

      <IssuedTokenNotice issued={actions.issued} onDone={actions.dismiss} />
      {allowed || tokens.length ? (
        <TokenTable tokens={tokens} loaded={query.isSuccess} showUser={false} onRevoke={actions.revoke} />
      ) : null}
    </section>
  );
}
