/** What both token pages show: a new token once, and the tokens with a revoke button each. */
import type { IssuedToken, TokenInfo } from "../api/clients";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { CopyButton } from "../ui/CopyButton";
import { formatTime } from "./tokenRules";

export function IssuedTokenNotice(props: { issued: IssuedToken | null; onDone: () => void }) {
  const { issued } = props;
  if (!issued) return null;
  return (
    <div className="card issued" role="status" data-testid="issued-token">
      <p>
        <strong>Copy this token now.</strong> It is shown only once.
      </p>
      <div className="row wrap">
        <code className="token" data-testid="issued-token-value">
          {issued.token}
        </code>
        <CopyButton text={() => issued.token} sticky />
        <button type="button" className="small" onClick={props.onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

export function TokenTable(props: {
  tokens: TokenInfo[];
  loaded: boolean;
  /** Admins' view: whose token each is. */
  showUser: boolean;
  onRevoke: (token: TokenInfo) => Promise<void>;
}) {
  const columns = props.showUser ? 7 : 6;
  return (
    <div className="table-wrap">
      <table aria-label="API tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Token ID</th>
            {props.showUser ? <th scope="col">User</th> : null}
            <th scope="col">Groups</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.loaded && !props.tokens.length ? (
            <tr>
              <td colSpan={columns} className="muted">
                No tokens.
              </td>
            </tr>
          ) : null}
          {props.tokens.map((t) => (
            <tr key={t.tokenUUID} data-testid="token-row" data-token-id={t.tokenUUID}>
              <td>{t.name || <span className="muted">unnamed</span>}</td>
              <td>
                <code>{t.tokenUUID}</code>
              </td>
              {props.showUser ? (
                <td>
                  {t.username}
                  {t.isSystemToken ? <span className="muted"> (system)</span> : null}
                </td>
              ) : null}
              <td>{t.groups?.join(", ") || <span className="muted">none</span>}</td>
              <td>{formatTime(t.createdDate)}</td>
              <td>
                {formatTime(t.tokenExpiration)}
                {t.isExpired ? <span className="status status-Failed"> expired</span> : null}
              </td>
              <td>
                <ConfirmDeleteButton
                  label={`Revoke ${t.name || t.tokenUUID}`}
                  title="Revoke this token?"
                  action="Revoke"
                  onConfirm={() => props.onRevoke(t)}
                >
                  <p>Clients using “{t.name || t.tokenUUID}” will be refused from now on.</p>
                </ConfirmDeleteButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
