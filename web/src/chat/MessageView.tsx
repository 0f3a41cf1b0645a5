import { lazy, Suspense, useState } from "react";
import { CopyButton } from "../ui/CopyButton";
import type { ChatMessage } from "./conversation";

const Markdown = lazy(() => import("./Markdown"));

function Citations({ message }: { message: ChatMessage }) {
  const citations = message.metadata.citations ?? [];
  if (!citations.length) return null;
  return (
    <div className="citations" aria-label="Sources">
      <span className="muted">Sources:</span>
      <ol>
        {citations.map((c, i) => (
          <li key={`${c.documentId ?? c.documentName}-${c.page ?? ""}-${i}`} title={c.excerpt ?? ""}>
            <span className="citation-doc">{c.documentName}</span>
            {c.page != null ? <span className="citation-page">, page {c.page}</span> : null}
          </li>
        ))}
      </ol>
    </div>
  );
}

export function MessageView(props: {
  message: ChatMessage;
  isLastAnswer: boolean;
  busy: boolean;
  onRegenerate: () => void;
  onEdit: (text: string) => void;
}) {
  const { message, isLastAnswer, busy } = props;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const meta = message.metadata;

  if (message.role === "user") {
    return (
      <article className="message user" aria-label="Your message" data-testid="user-message">
        {editing ? (
          <form
            className="edit-form"
            onSubmit={(e) => {
              e.preventDefault();
              setEditing(false);
              props.onEdit(draft);
            }}
          >
            <label className="sr-only" htmlFor={`edit-${message.id}`}>
              Edit message
            </label>
            <textarea
              id={`edit-${message.id}`}
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              rows={3}
              autoFocus
            />
            <div className="row end">
              <button type="button" onClick={() => setEditing(false)}>
                Cancel
              </button>
              <button type="submit" className="primary" disabled={!draft.trim()}>
                Save and send
              </button>
            </div>
          </form>
        ) : (
          <>
            <div className="bubble plain">{message.content}</div>
            <div className="message-actions">
              <button
                type="button"
                className="small"
                disabled={busy}
                onClick={() => {
                  setDraft(message.content);
                  setEditing(true);
                }}
                aria-label="Edit and resend this message"
              >
                Edit
              </button>
            </div>
          </>
        )}
      </article>
    );
  }

  if (message.role === "system") return null;

  return (
    <article
      className="message assistant"
      aria-label="Answer"
      data-testid="assistant-message"
      aria-busy={meta.pending ? "true" : "false"}
    >
      <div className="bubble">
        {message.content ? (
          <Suspense fallback={<div className="plain">{message.content}</div>}>
            <Markdown text={message.content} />
          </Suspense>
        ) : meta.pending ? (
          <span className="typing" aria-label="Answer is being written">
            <span />
            <span />
            <span />
          </span>
        ) : null}
        {meta.error ? (
          <div className="error-box" role="alert" data-testid="message-error">
            <strong>The model could not answer:</strong> {meta.error}
          </div>
        ) : null}
        {meta.stopped ? (
          <p className="muted small-text" data-testid="stopped-note">
            Stopped.
          </p>
        ) : null}
        <Citations message={message} />
      </div>
      {!meta.pending ? (
        <div className="message-actions">
          {meta.model ? <span className="muted small-text">{meta.model}</span> : null}
          {message.content ? <CopyButton text={() => message.content} label="Copy answer" /> : null}
          {isLastAnswer ? (
            <button
              type="button"
              className="small"
              onClick={props.onRegenerate}
              disabled={busy}
              aria-label="Regenerate answer"
            >
              Regenerate
            </button>
          ) : null}
        </div>
      ) : null}
    </article>
  );
}
