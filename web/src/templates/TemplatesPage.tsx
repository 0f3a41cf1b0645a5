import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { PromptTemplate } from "../api/chatApi";
import { chatKeys, templatesQuery } from "../app/chatQueries";
import { queryError } from "../app/queries";
import { useServices } from "../app/services";
import { templateVariables } from "../chat/templates";
import { ErrorBox } from "../ui/ConfirmDialog";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { useAction, useEditor } from "../ui/useAction";
import { TemplateFilter } from "./TemplateFilter";

interface Draft {
  title: string;
  body: string;
  type: "persona" | "directive";
  sharing: "private" | "public" | "groups";
  groups: string;
}

const EMPTY: Draft = { title: "", body: "", type: "persona", sharing: "private", groups: "" };

function groupsOf(draft: Draft): string[] {
  if (draft.sharing === "public") return ["lisa:public"];
  if (draft.sharing === "private") return [];
  return draft.groups
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean)
    .map((g) => `group:${g}`);
}

function draftOf(t: PromptTemplate): Draft {
  const groups = t.groups.filter((g) => g.startsWith("group:")).map((g) => g.slice(6));
  return {
    title: t.title,
    body: t.body,
    type: t.type,
    sharing: t.groups.includes("lisa:public") ? "public" : groups.length ? "groups" : "private",
    groups: groups.join(", "),
  };
}

/** LISA's prompt template library: personas (system prompts) and directives, private or shared, with revisions. */
export function TemplatesPage() {
  const { chat } = useServices();
  const client = useQueryClient();
  const [shared, setShared] = useState(false);
  const [q, setQ] = useState("");
  const query = useQuery(templatesQuery(chat, shared, q));
  const templates = query.data ?? [];
  const { editing, draft, set, start, reset } = useEditor<Draft, PromptTemplate>(EMPTY);
  const { error, run } = useAction();
  const reload = () => client.invalidateQueries({ queryKey: chatKeys.allTemplates });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const body = { title: draft.title.trim(), body: draft.body, type: draft.type, groups: groupsOf(draft) };
      if (editing) await chat.updateTemplate(editing.id, { ...body, revision: editing.revision });
      else await chat.createTemplate(body);
      reset();
      await reload();
    });
  };

  const variables = templateVariables(draft.body);
  return (
    <section className="page" aria-labelledby="templates-title">
      <h1 id="templates-title">Prompt templates</h1>
      <p className="muted">
        A persona becomes a chat's system prompt; a directive is inserted into your message. Write{" "}
        <code>{"{{name}}"}</code> for a blank the chat asks you to fill in.
      </p>
      <ErrorBox error={error ?? queryError(query)} />
      <form className="card form-grid" onSubmit={submit} aria-label={editing ? "Edit template" : "New template"}>
        <h2>{editing ? `Edit “${editing.title}” (revision ${editing.revision})` : "New template"}</h2>
        <label>
          Title
          <input required maxLength={200} value={draft.title} onChange={(e) => set({ title: e.target.value })} />
        </label>
        <label>
          Kind
          <select value={draft.type} onChange={(e) => set({ type: e.target.value as Draft["type"] })}>
            <option value="persona">Persona (system prompt)</option>
            <option value="directive">Directive (inserted into the message)</option>
          </select>
        </label>
        <label className="wide">
          Text
          <textarea required rows={5} value={draft.body} onChange={(e) => set({ body: e.target.value })} />
        </label>
        {variables.length ? <p className="muted small-text">Blanks: {variables.join(", ")}</p> : null}
        <label>
          Shared with
          <select value={draft.sharing} onChange={(e) => set({ sharing: e.target.value as Draft["sharing"] })}>
            <option value="private">only me</option>
            <option value="groups">my groups…</option>
            <option value="public">everyone</option>
          </select>
        </label>
        {draft.sharing === "groups" ? (
          <label>
            Groups (comma-separated)
            <input value={draft.groups} onChange={(e) => set({ groups: e.target.value })} />
          </label>
        ) : null}
        <div className="row">
          <button type="submit" className="primary">
            {editing ? "Save as a new revision" : "Add template"}
          </button>
          {editing ? (
            <button type="button" onClick={reset}>
              Cancel
            </button>
          ) : null}
        </div>
      </form>
      <TemplateFilter shared={shared} onShared={setShared} query={q} onQuery={setQ} />
      <ul className="template-list">
        {templates.map((t) => (
          <li key={t.id} className="card" data-testid="template-row">
            <div className="row between">
              <span>
                <span className={`badge ${t.type}`}>{t.type}</span> <strong>{t.title}</strong>{" "}
                <span className="muted small-text">
                  revision {t.revision} · by {t.owner}
                </span>
              </span>
              {t.isOwner ? (
                <span className="row">
                  <button type="button" className="small" onClick={() => start(t, draftOf(t))}>
                    Edit
                  </button>
                  <ConfirmDeleteButton
                    label={`Delete ${t.title}`}
                    title="Delete this template?"
                    onConfirm={() => run(async () => (await chat.deleteTemplate(t.id), await reload()))}
                  >
                    <p>Every revision of “{t.title}” will be deleted.</p>
                  </ConfirmDeleteButton>
                </span>
              ) : null}
            </div>
            <pre className="template-body">{t.body}</pre>
          </li>
        ))}
      </ul>
      {!query.isPending && !templates.length ? <p className="muted">No templates here yet.</p> : null}
    </section>
  );
}
