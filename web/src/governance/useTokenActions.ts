/** Issuing and revoking API tokens from a page: the token shown once, errors to show, the list kept current. */
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { IssuedToken, IssueTokenRequest, TokenInfo } from "../api/clients";
import { ApiError, describeError } from "../api/errors";
import { keys } from "../app/queries";
import { useServices } from "../app/services";

export function useTokenActions() {
  const { api } = useServices();
  const client = useQueryClient();
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const reload = () => client.invalidateQueries({ queryKey: keys.tokens });

  /** True when the token was issued (it is in `issued` until dismissed). */
  async function issue(request: IssueTokenRequest): Promise<boolean> {
    setBusy(true);
    setError(null);
    setProblems([]);
    try {
      setIssued(await api.issueToken(request));
      await reload();
      return true;
    } catch (e) {
      setError(describeError(e));
      setProblems(e instanceof ApiError ? e.problems : []);
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function revoke(token: TokenInfo): Promise<void> {
    setError(null);
    try {
      await api.revokeToken(token.tokenUUID);
      if (issued?.tokenUUID === token.tokenUUID) setIssued(null);
    } catch (e) {
      setError(describeError(e));
    }
    await reload();
  }

  return { issued, dismiss: () => setIssued(null), error, problems, busy, issue, revoke };
}
