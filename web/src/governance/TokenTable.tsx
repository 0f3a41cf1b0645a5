/** What both token pages show: a new token once, and the tokens with a revoke button each. */
import type { IssuedToken, TokenInfo } from "../api/clients";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { CopyButton } from "../ui/CopyButton";
import { formatTime } from "./tokenRules";
import { EmptyRow, TableHead } from "../ui/Table";

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
  const columns = ["Name", "Token ID", ...(props.showUser ? ["User"] : []), "Groups", "Created", "Expires"];
  return (
    <div className="table-wrap">
      <table aria-label="API tokens">
        <TableHead columns={columns} actions />
        <tbody>
          {props.loaded && !props.tokens.length ? <EmptyRow columns={columns.length + 1}>No tokens.</EmptyRow> : null}
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
