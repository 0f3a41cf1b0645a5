/**
 * Answers rendered as Markdown (GitHub flavour) with highlighted code and a copy button on each code block.
 * Loaded lazily: the highlighter is the heaviest part of the bundle and the login page does not need it.
 * Raw HTML in answers is not rendered (react-markdown's default), so a model cannot inject markup.
 * Images are never loaded from an answer: a model steered by a poisoned document could otherwise make the browser
 * send the conversation to any host in an image URL. They show as links the reader may choose to open (the CSP's
 * `img-src 'self' data:` is the second line of defence).
 */
import { Children, isValidElement, useRef, type ReactNode } from "react";
import ReactMarkdown from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
import { CopyButton } from "../ui/CopyButton";

function CodeBlock({ children }: { children?: ReactNode }) {
  const ref = useRef<HTMLPreElement>(null);
  const child = Children.toArray(children)[0];
  const className = isValidElement<{ className?: string }>(child) ? (child.props.className ?? "") : "";
  const language = /language-([\w+-]+)/.exec(className)?.[1] ?? "";
  return (
    <div className="code-block">
      <div className="code-head">
        <span>{language || "code"}</span>
        <CopyButton text={() => ref.current?.innerText ?? ""} label={`Copy ${language || "code"} block`} />
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
          img: ({ src, alt }) => (
            <a
              className="answer-image-link"
              data-testid="answer-image-link"
              href={typeof src === "string" ? src : undefined}
              target="_blank"
              rel="noopener noreferrer nofollow"
            >
              {`[image: ${alt || "untitled"}]`}
            </a>
          ),
        }}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
}
