import { useState } from "react";
import { Link } from "react-router";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { searchByTitle, sessionTitle } from "./sessionRecords";
import { useSessions } from "./useSessions";

function when(iso: string | null | undefined): string {
  const date = new Date(iso ?? "");
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

export function SessionSidebar(props: {
  currentId: string;
  open: boolean;
  onClose: () => void;
  onRename: (sessionId: string, name: string) => Promise<void>;
  onDelete: (sessionId: string) => Promise<void>;
  search: string;
  onSearch: (query: string) => void;
}) {
  const { sessions, loaded, error } = useSessions();
  const query = props.search;
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const shown = searchByTitle(sessions, query);

  async function commitRename(sessionId: string) {
    setEditing(null);
    if (draft.trim()) await props.onRename(sessionId, draft.trim());
  }

  return (
    <aside className={props.open ? "sidebar open" : "sidebar"} aria-label="Sessions">
      <div className="row between">
        <h2>Sessions</h2>
        <button type="button" className="icon mobile-only" aria-label="Close sessions" onClick={props.onClose}>
          ✕
        </button>
      </div>
      <label className="sr-only" htmlFor="session-search">
        Search sessions by title
      </label>
      <input
        id="session-search"
        type="search"
        placeholder="Search by title"
        value={query}
        onChange={(e) => props.onSearch(e.target.value)}
      />
      {error ? (
        <p className="error-box" role="alert">
          Sessions could not be loaded: {error}
        </p>
      ) : null}
      {loaded && !shown.length ? (
        <p className="muted">{query ? "No session matches." : "No saved sessions yet."}</p>
      ) : null}
      <ul className="session-list">
        {shown.map((s) => {
          const title = sessionTitle(s);
          return (
            <li
              key={s.sessionId}
              className={s.sessionId === props.currentId ? "current" : ""}
              data-testid="session-item"
            >
              {editing === s.sessionId ? (
                <form
                  onSubmit={(e) => {
                    e.preventDefault();
                    void commitRename(s.sessionId);
                  }}
                >
                  <label className="sr-only" htmlFor={`rename-${s.sessionId}`}>
                    New name
                  </label>
                  <input
                    id={`rename-${s.sessionId}`}
                    value={draft}
                    autoFocus
                    onChange={(e) => setDraft(e.target.value)}
                    onKeyDown={(e) => e.key === "Escape" && setEditing(null)}
                  />
                  <button type="submit" className="small">
                    Save
                  </button>
                </form>
              ) : (
                <>
                  <Link
                    to={`/chat/${s.sessionId}`}
                    onClick={props.onClose}
                    aria-current={s.sessionId === props.currentId ? "page" : undefined}
                  >
                    <span className="session-title">{title}</span>
                    <span className="muted small-text">{when(s.lastUpdated)}</span>
                  </Link>
                  <div className="session-actions">
                    <button
                      type="button"
                      className="small"
                      aria-label={`Rename ${title}`}
                      onClick={() => {
                        setDraft(title);
                        setEditing(s.sessionId);
                      }}
                    >
                      Rename
                    </button>
                    <ConfirmDeleteButton
                      label={`Delete ${title}`}
                      title="Delete this session?"
                      onConfirm={() => props.onDelete(s.sessionId)}
                    >
                      <p>“{title}” and its messages will be deleted for good.</p>
                    </ConfirmDeleteButton>
                  </div>
                </>
              )}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
