import { useState, type KeyboardEvent } from "react";

/** The message box: Enter sends, Shift+Enter adds a line; Stop replaces Send while an answer streams. */
export function Composer(props: {
  streaming: boolean;
  disabled: boolean;
  onSend: (text: string) => boolean;
  onStop: () => void;
}) {
  const [text, setText] = useState("");

  function send() {
    if (!text.trim() || props.streaming || props.disabled) return;
    if (props.onSend(text)) setText("");
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
      <label htmlFor="composer-input" className="sr-only">
        Message
      </label>
      <textarea
        id="composer-input"
        placeholder="Ask anything (Enter sends, Shift+Enter adds a line)"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        rows={2}
      />
      {props.streaming ? (
        <button type="button" className="danger" onClick={props.onStop} aria-label="Stop the answer (Esc)">
          Stop
        </button>
      ) : (
        <button type="submit" className="primary" disabled={!text.trim() || props.disabled}>
          Send
        </button>
      )}
    </form>
  );
}
