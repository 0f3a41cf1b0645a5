import { useEffect, useRef, useState, type ReactNode } from "react";

/** A button that opens a small menu; closed by choosing, clicking elsewhere, or Esc. */
export function Menu(props: { label: string; ariaLabel: string; children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => ref.current?.contains(e.target as Node) || setOpen(false);
    const escape = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", outside);
    document.addEventListener("keydown", escape);
    return () => {
      document.removeEventListener("mousedown", outside);
      document.removeEventListener("keydown", escape);
    };
  }, [open]);

  return (
    <div className="menu" ref={ref}>
      <button
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={props.ariaLabel}
        onClick={() => setOpen((o) => !o)}
      >
        {props.label}
      </button>
      {open ? (
        <div className="menu-items" role="menu" onClick={() => setOpen(false)}>
          {props.children}
        </div>
      ) : null}
    </div>
  );
}
