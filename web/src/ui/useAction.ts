import { useCallback, useState } from "react";
import { describeError } from "../api/errors";

/**
 * A screen's actions (save, delete, test…): `run(action, what?)` marks it busy, and a failure becomes the message
 * to show (prefixed with `what`), cleared by the next action.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<void>, what?: string) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(what ? `${what}: ${describeError(e)}` : describeError(e));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}

/** An edit form's state: the draft, the item being edited (null: a new one), and going back to an empty form. */
export function useEditor<D, Id>(empty: D) {
  const [editing, setEditing] = useState<Id | null>(null);
  const [draft, setDraft] = useState<D>(empty);
  const set = useCallback((change: Partial<D>) => setDraft((d) => ({ ...d, ...change })), []);
  const start = useCallback((id: Id, values: D) => {
    setEditing(id);
    setDraft(values);
  }, []);
  const reset = useCallback(() => {
    setEditing(null);
    setDraft(empty);
  }, [empty]);
  return { editing, draft, set, start, reset };
}
