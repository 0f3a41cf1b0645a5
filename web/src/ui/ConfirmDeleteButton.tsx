import { useState, type ReactNode } from "react";
import { ConfirmDialog } from "./ConfirmDialog";

/**
 * A row's delete (or revoke) button that asks first. `onConfirm` runs while the dialog shows it is busy; the dialog
 * closes when it settles. Errors are the caller's to show (its `onConfirm` catches them).
 */
export function ConfirmDeleteButton(props: {
  /** The button's accessible name, naming what goes: "Delete guide.pdf". */
  label: string;
  title: string;
  /** The button's text; default "Delete". */
  action?: string;
  /** The dialog's confirm button; default the action. */
  confirmLabel?: string;
  onConfirm: () => Promise<void>;
  /** What will be lost, shown in the dialog. */
  children: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const action = props.action ?? "Delete";

  async function confirm() {
    setBusy(true);
    try {
      await props.onConfirm();
    } finally {
      setBusy(false);
      setOpen(false);
    }
  }

  return (
    <>
      <button type="button" className="small danger" onClick={() => setOpen(true)} aria-label={props.label}>
        {action}
      </button>
      <ConfirmDialog
        open={open}
        title={props.title}
        confirmLabel={props.confirmLabel ?? action}
        danger
        busy={busy}
        onCancel={() => setOpen(false)}
        onConfirm={() => void confirm()}
      >
        {/* Only while open: a closed dialog per row must not repeat the row's text in the page. */}
        {open ? props.children : null}
      </ConfirmDialog>
    </>
  );
}
