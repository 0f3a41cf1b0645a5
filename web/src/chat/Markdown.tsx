/**
 * Answers rendered as Markdown (GitHub flavour) with highlighted code and a copy button on each code block.
 * Loaded lazily: the highlighter is the heaviest part of the bundle and the login page does not need it.
 * Raw HTML in answers is not rendered (react-markdown's default), so a model cannot inject markup.
 */
import { useRef, useState, type ReactNode } from "react";
import ReactMarkdown from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
import { copyText } from "../ui/download";

function CodeBlock({ children }: { children?: ReactNode }) {
  const ref = useRef<HTMLPreElement>(null);
  const [copied, setCopied] = useState(false);
  const child = Array.isArray(children) ? children[0] : children;
  const className: string = (child as any)?.props?.className ?? "";
  const language = /language-([\w+-]+)/.exec(className)?.[1] ?? "";

  async function copy() {
    if (await copyText(ref.current?.innerText ?? "")) {
      setCopied(true);
      window.setTimeout(() => setCopied(false), 1500);
    }
  }

  return (
    <div className="code-block">
      <div className="code-head">
        <span>{language || "code"}</span>
        <button type="button" className="small" onClick={copy} aria-label={`Copy ${language || "code"} block`}>
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      <pre ref={ref}>{children}</pre>
    </div>
  );
}

export default function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        rehypePlugins={[[rehypeHighlight, { detect: false }]]}
        components={{
          pre: CodeBlock,
          a: ({ children, href }) => (
            <a href={href} target="_blank" rel="noopener noreferrer">
              {children}
            </a>
          ),
        }}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
}
