import { useEffect, useId, useRef, type ReactNode } from "react";

/** A modal confirmation on the native <dialog> (focus trap and Esc come with it). */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => (e.preventDefault(), props.onCancel())}
    >
      <h2 id={titleId}>{props.title}</h2>
      <div className="dialog-body">{props.children}</div>
      <div className="row end">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="button"
          className={props.danger ? "danger" : "primary"}
          onClick={props.onConfirm}
          disabled={props.busy}
        >
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A modal holding a form or any content, closed by its own buttons or Esc. */
export function Modal(props: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      className={props.wide ? "dialog wide" : "dialog"}
      aria-label={props.title}
      onCancel={(e) => (e.preventDefault(), props.onClose())}
    >
      <div className="row between">
        <h2>{props.title}</h2>
        <button type="button" className="icon" aria-label="Close" onClick={props.onClose}>
          ✕
        </button>
      </div>
      {props.open ? props.children : null}
    </dialog>
  );
}

export function ErrorBox(props: { error: string | null; problems?: string[] }) {
  if (!props.error) return null;
  return (
    <div className="error-box" role="alert">
      <p>{props.error}</p>
      {props.problems && props.problems.length > 1 ? (
        <ul>
          {props.problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
