import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import type { SessionSummary } from "../api/clients";
import { chatKeys, projectsQuery, useConfiguration } from "../app/chatQueries";
import { keys } from "../app/queries";
import { useServices } from "../app/services";
import { ConfirmDialog } from "../ui/ConfirmDialog";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { useAction } from "../ui/useAction";
import { groupSessions } from "./sessionGroups";
import { searchByTitle, sessionTitle } from "./sessionRecords";
import { changeSessions, useSessions } from "./useSessions";

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
  /** A change made here (pin, move) moved the session's version. */
  onVersion: (sessionId: string, version: number) => void;
  /** Every session was deleted. */
  onDeletedAll: () => void;
  search: string;
  onSearch: (query: string) => void;
}) {
  const { chat } = useServices();
  const client = useQueryClient();
  const configuration = useConfiguration();
  const withProjects = configuration.enabled("projectOrganization");
  const { sessions, loaded, error } = useSessions();
  const projectsQ = useQuery({ ...projectsQuery(chat), enabled: withProjects });
  const projects = projectsQ.data ?? [];
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const { error: failure, run } = useAction();
  const [deleteAllOpen, setDeleteAllOpen] = useState(false);
  const [folderName, setFolderName] = useState<string | null>(null);
  // The folder being renamed and the name typed so far.
  const [renaming, setRenaming] = useState<{ projectId: string; name: string } | null>(null);
  const shown = searchByTitle(sessions, props.search);
  const groups = groupSessions(shown, projects, withProjects);

  const patch = (sessionId: string, change: Partial<SessionSummary>) =>
    changeSessions(client, (list) => list.map((s) => (s.sessionId === sessionId ? { ...s, ...change } : s)));

  const act = (what: string, action: () => Promise<void>) => run(action, what);

  async function commitRename(sessionId: string) {
    setEditing(null);
    if (draft.trim()) await props.onRename(sessionId, draft.trim());
  }

  const pin = (s: SessionSummary) =>
    act("Could not pin the session", async () => {
      const saved = (await chat.pinSession(s.sessionId, !s.pinned)) as { version: number };
      patch(s.sessionId, { pinned: !s.pinned, version: saved.version });
      props.onVersion(s.sessionId, saved.version);
    });

  const move = (s: SessionSummary, projectId: string | null) =>
    act("Could not move the session", async () => {
      const saved = (await chat.moveSession(s.sessionId, projectId, s.projectId ?? null)) as { version: number };
      patch(s.sessionId, { projectId, version: saved.version });
      props.onVersion(s.sessionId, saved.version);
    });

  const createFolder = (name: string) =>
    act("Could not create the folder", async () => {
      await chat.createProject(name);
      await client.invalidateQueries({ queryKey: chatKeys.projects });
    });

  const renameFolder = (projectId: string, name: string) =>
    act("Could not rename the folder", async () => {
      await chat.renameProject(projectId, name);
      await client.invalidateQueries({ queryKey: chatKeys.projects });
    });

  const deleteFolder = (projectId: string, deleteSessions: boolean) =>
    act("Could not delete the folder", async () => {
      await chat.deleteProject(projectId, deleteSessions);
      await client.invalidateQueries({ queryKey: chatKeys.projects });
      await client.invalidateQueries({ queryKey: keys.sessions });
    });

  const deleteAll = () =>
    act("Could not delete the sessions", async () => {
      await chat.deleteAllSessions();
      changeSessions(client, () => []);
      setDeleteAllOpen(false);
      props.onDeletedAll();
    });

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
        value={props.search}
        onChange={(e) => props.onSearch(e.target.value)}
      />
      <div className="row sidebar-tools">
        {withProjects ? (
          folderName === null ? (
            <button type="button" className="small" onClick={() => setFolderName("")}>
              New folder
            </button>
          ) : (
            <form
              className="row"
              onSubmit={(e) => {
                e.preventDefault();
                if (folderName.trim()) void createFolder(folderName.trim());
                setFolderName(null);
              }}
            >
              <label className="sr-only" htmlFor="folder-name">
                Folder name
              </label>
              <input
                id="folder-name"
                autoFocus
                maxLength={100}
                value={folderName}
                placeholder="Folder name"
                onChange={(e) => setFolderName(e.target.value)}
                onKeyDown={(e) => e.key === "Escape" && setFolderName(null)}
              />
              <button type="submit" className="small">
                Add
              </button>
            </form>
          )
        ) : null}
        {configuration.enabled("deleteSessionHistory") && sessions.length ? (
          <button type="button" className="small danger" onClick={() => setDeleteAllOpen(true)}>
            Delete all
          </button>
        ) : null}
      </div>
      <ConfirmDialog
        open={deleteAllOpen}
        title="Delete every session?"
        confirmLabel={`Delete ${sessions.length} sessions`}
        danger
        onConfirm={() => void deleteAll()}
        onCancel={() => setDeleteAllOpen(false)}
      >
        <p>All {sessions.length} of your sessions, their files and feedback will be deleted for good.</p>
      </ConfirmDialog>
      {error || failure ? (
        <p className="error-box" role="alert">
          {failure ?? `Sessions could not be loaded: ${error}`}
        </p>
      ) : null}
      {loaded && !shown.length && !projects.length ? (
        <p className="muted">{props.search ? "No session matches." : "No saved sessions yet."}</p>
      ) : null}
      {groups.map((group) =>
        group.sessions.length || group.projectId ? (
          <section key={group.key} className="session-group" aria-label={group.title}>
            <div className="row between group-title">
              {group.projectId && renaming?.projectId === group.projectId ? (
                <form
                  className="row"
                  onSubmit={(e) => {
                    e.preventDefault();
                    const name = renaming.name.trim();
                    if (name && name !== group.title) void renameFolder(group.projectId!, name);
                    setRenaming(null);
                  }}
                >
                  <label className="sr-only" htmlFor={`folder-rename-${group.projectId}`}>
                    New folder name
                  </label>
                  <input
                    id={`folder-rename-${group.projectId}`}
                    autoFocus
                    maxLength={100}
                    value={renaming.name}
                    onChange={(e) => setRenaming({ projectId: group.projectId!, name: e.target.value })}
                    onKeyDown={(e) => e.key === "Escape" && setRenaming(null)}
                  />
                  <button type="submit" className="small">
                    Save
                  </button>
                </form>
              ) : (
                <h3>{group.title}</h3>
              )}
              {group.projectId ? (
                <div className="row">
                  <button
                    type="button"
                    className="small"
                    aria-label={`Rename the folder ${group.title}`}
                    onClick={() => setRenaming({ projectId: group.projectId!, name: group.title })}
                  >
                    Rename
                  </button>
                  <ConfirmDeleteButton
                    label={`Delete the folder ${group.title}`}
                    title={`Delete the folder “${group.title}”?`}
                    action="Delete folder"
                    onConfirm={() => deleteFolder(group.projectId!, false)}
                  >
                    <p>Its {group.sessions.length} sessions go back to the history.</p>
                  </ConfirmDeleteButton>
                  <ConfirmDeleteButton
                    label={`Delete the folder ${group.title} and its sessions`}
                    title={`Delete “${group.title}” and its sessions?`}
                    action="…with sessions"
                    onConfirm={() => deleteFolder(group.projectId!, true)}
                  >
                    <p>The folder and its {group.sessions.length} sessions will be deleted for good.</p>
                  </ConfirmDeleteButton>
                </div>
              ) : null}
            </div>
            <ul className="session-list">
              {group.sessions.map((s) => {
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
                          <span className="muted small-text">
                            {when(s.lastUpdated)}
                            {s.totalTokensUsed ? ` · ${s.totalTokensUsed.toLocaleString()} tokens` : ""}
                          </span>
                        </Link>
                        <div className="session-actions">
                          <button
                            type="button"
                            className="small"
                            aria-label={s.pinned ? `Unpin ${title}` : `Pin ${title}`}
                            aria-pressed={s.pinned}
                            onClick={() => void pin(s)}
                          >
                            {s.pinned ? "Unpin" : "Pin"}
                          </button>
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
                          {withProjects && projects.length ? (
                            <select
                              className="small"
                              aria-label={`Folder of ${title}`}
                              value={s.projectId ?? ""}
                              onChange={(e) => void move(s, e.target.value || null)}
                            >
                              <option value="">No folder</option>
                              {projects.map((p) => (
                                <option key={p.projectId} value={p.projectId}>
                                  {p.name}
                                </option>
                              ))}
                            </select>
                          ) : null}
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
          </section>
        ) : null,
      )}
    </aside>
  );
}
