import { useEffect, useState } from "react";
import { copyText } from "./download";

/** A small button that copies `text()` to the clipboard and says "Copied" for a moment (or until `sticky` ends). */
export function CopyButton(props: { text: () => string; label?: string; sticky?: boolean }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied || props.sticky) return;
    const timer = window.setTimeout(() => setCopied(false), 1500);
    return () => window.clearTimeout(timer);
  }, [copied, props.sticky]);
  return (
    <button
      type="button"
      className="small"
      aria-label={props.label}
      onClick={() => void copyText(props.text()).then((ok) => ok && setCopied(true))}
    >
      {copied ? "Copied" : "Copy"}
    </button>
  );
}
