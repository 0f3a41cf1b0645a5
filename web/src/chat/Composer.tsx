import { useRef, type KeyboardEvent } from "react";
import type { Attachment } from "./conversation";

const ACCEPT = ".txt,.md,.markdown,.pdf,.docx,image/png,image/jpeg,image/gif,image/webp";

/**
 * The message box: Enter sends, Shift+Enter adds a line; Stop replaces Send while an answer streams. Files attach
 * to the next message (documents as text, images as image parts); a document can be summarised at once.
 */
export function Composer(props: {
  text: string;
  onTextChange: (text: string) => void;
  streaming: boolean;
  disabled: boolean;
  onSend: () => boolean;
  onStop: () => void;
  attachments: Attachment[];
  attaching: boolean;
  canAttach: boolean;
  onAttach: (files: File[]) => void;
  onRemoveAttachment: (index: number) => void;
  onSummarise: (index: number) => void;
  canSummarise: boolean;
}) {
  const fileInput = useRef<HTMLInputElement>(null);
  const { text } = props;
  const ready = (text.trim() || props.attachments.length) && !props.disabled && !props.attaching;

  function send() {
    if (!ready || props.streaming) return;
    props.onSend();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {props.attachments.length || props.attaching ? (
        <ul className="attachments" aria-label="Attached files">
          {props.attachments.map((a, i) => (
            <li key={`${a.name}-${i}`} className="attachment" data-testid="attachment">
              {a.kind === "image" ? (
                <img src={a.url} alt="" className="attachment-thumb" />
              ) : (
                <span className="file-tag">file</span>
              )}
              <span className="attachment-name">{a.name}</span>
              {a.kind === "document" ? (
                <span className="muted small-text">{a.chars.toLocaleString()} characters</span>
              ) : null}
              {a.kind === "document" && a.notice ? (
                <span className="attachment-notice" role="status" data-testid="truncation-notice">
                  {a.notice}
                </span>
              ) : null}
              {a.kind === "document" && props.canSummarise ? (
                <button type="button" className="small" disabled={props.streaming} onClick={() => props.onSummarise(i)}>
                  Summarise
                </button>
              ) : null}
              <button
                type="button"
                className="small"
                aria-label={`Remove ${a.name}`}
                onClick={() => props.onRemoveAttachment(i)}
              >
                ✕
              </button>
            </li>
          ))}
          {props.attaching ? <li className="muted small-text">Reading the file…</li> : null}
        </ul>
      ) : null}
      <div className="composer-row">
        {props.canAttach ? (
          <>
            <input
              ref={fileInput}
              type="file"
              accept={ACCEPT}
              multiple
              hidden
              data-testid="attach-input"
              onChange={(e) => {
                props.onAttach([...(e.target.files ?? [])]);
                e.target.value = "";
              }}
            />
            <button
              type="button"
              aria-label="Attach a file"
              title="Attach a file (text, Markdown, PDF, Word, image)"
              disabled={props.disabled || props.attaching}
              onClick={() => fileInput.current?.click()}
            >
              Attach
            </button>
          </>
        ) : null}
        <label htmlFor="composer-input" className="sr-only">
          Message
        </label>
        <textarea
          id="composer-input"
          placeholder="Ask anything (Enter sends, Shift+Enter adds a line)"
          value={text}
          onChange={(e) => props.onTextChange(e.target.value)}
          onKeyDown={onKeyDown}
          rows={2}
        />
        {props.streaming ? (
          <button type="button" className="danger" onClick={props.onStop} aria-label="Stop the answer (Esc)">
            Stop
          </button>
        ) : (
          <button type="submit" className="primary" disabled={!ready}>
            Send
          </button>
        )}
      </div>
    </form>
  );
}
