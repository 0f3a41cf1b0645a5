import { lazy, Suspense, useEffect, useState } from "react";
import { useServices } from "../app/services";
import { CopyButton } from "../ui/CopyButton";
import type { Attachment, ChatMessage, FeedbackState } from "./conversation";
import { ToolCalls } from "./ToolCalls";

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

/** A stored image, fetched through the api (with the user's credentials) and shown from a blob: URL. */
function StoredImage({ s3Key, url, name }: { s3Key: string; url: string; name: string }) {
  const { chat } = useServices();
  const [src, setSrc] = useState<string | null>(url.startsWith("data:") ? url : null);
  useEffect(() => {
    if (url.startsWith("data:")) return;
    const controller = new AbortController();
    let objectUrl: string | null = null;
    chat
      .image(s3Key, controller.signal)
      .then((blob) => {
        objectUrl = URL.createObjectURL(blob);
        setSrc(objectUrl);
      })
      .catch(() => setSrc(null));
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [chat, s3Key, url]);
  return src ? <img src={src} alt={name} className="attachment-image" /> : <span className="file-tag">image</span>;
}

function Attachments({ attachments }: { attachments: Attachment[] }) {
  if (!attachments.length) return null;
  return (
    <ul className="attachments sent" aria-label="Attached files">
      {attachments.map((a, i) => (
        <li key={`${a.name}-${i}`} className="attachment">
          {a.kind === "image" ? (
            <StoredImage s3Key={a.s3Key} url={a.url} name={a.name} />
          ) : (
            <span className="file-tag">file</span>
          )}
          <span className="attachment-name">{a.name}</span>
          {a.kind === "document" && a.truncated ? (
            <span className="muted small-text">
              (cut to {a.chars.toLocaleString()} of {a.totalChars.toLocaleString()} characters)
            </span>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function Usage({ message }: { message: ChatMessage }) {
  const usage = message.metadata.usage;
  if (!usage) return null;
  return (
    <span className="muted small-text" data-testid="message-usage" title="prompt + answer tokens">
      {usage.prompt_tokens} + {usage.completion_tokens} tokens
    </span>
  );
}

function FeedbackButtons(props: {
  feedback: FeedbackState | undefined;
  onFeedback: (rating: "up" | "down" | null, comment: string) => void;
}) {
  const [commenting, setCommenting] = useState(false);
  const [comment, setComment] = useState(props.feedback?.comment ?? "");
  const rating = props.feedback?.rating;
  return (
    <>
      <button
        type="button"
        className={rating === "up" ? "small chosen" : "small"}
        aria-pressed={rating === "up"}
        aria-label="Good answer"
        onClick={() => props.onFeedback(rating === "up" ? null : "up", "")}
      >
        Good
      </button>
      <button
        type="button"
        className={rating === "down" ? "small chosen" : "small"}
        aria-pressed={rating === "down"}
        aria-label="Bad answer"
        onClick={() => (rating === "down" ? props.onFeedback(null, "") : setCommenting(true))}
      >
        Bad
      </button>
      {commenting ? (
        <form
          className="feedback-form"
          onSubmit={(e) => {
            e.preventDefault();
            setCommenting(false);
            props.onFeedback("down", comment);
          }}
        >
          <label className="sr-only" htmlFor="feedback-comment">
            What was wrong? (optional)
          </label>
          <input
            id="feedback-comment"
            autoFocus
            placeholder="What was wrong? (optional)"
            value={comment}
            maxLength={2000}
            onChange={(e) => setComment(e.target.value)}
          />
          <button type="submit" className="small primary">
            Send feedback
          </button>
        </form>
      ) : null}
    </>
  );
}

export function MessageView(props: {
  message: ChatMessage;
  isLastAnswer: boolean;
  busy: boolean;
  onRegenerate: () => void;
  onEdit: (text: string) => void;
  feedback?: FeedbackState;
  onFeedback?: (rating: "up" | "down" | null, comment: string) => void;
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
            <div className="bubble plain">
              {message.content}
              <Attachments attachments={meta.attachments ?? []} />
            </div>
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
        <ToolCalls calls={meta.toolCalls ?? []} notices={meta.toolNotices ?? []} />
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
          <Usage message={message} />
          {message.content ? <CopyButton text={() => message.content} label="Copy answer" /> : null}
          {props.onFeedback && message.content ? (
            <FeedbackButtons feedback={props.feedback} onFeedback={props.onFeedback} />
          ) : null}
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
