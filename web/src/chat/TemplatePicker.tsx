import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import type { PromptTemplate } from "../api/chatApi";
import { queryError } from "../app/queries";
import { templatesQuery } from "../app/chatQueries";
import { useServices } from "../app/services";
import { Modal } from "../ui/ConfirmDialog";
import { TemplateFilter } from "../templates/TemplateFilter";
import { fillVariables, templateVariables } from "./templates";

/**
 * Choose a prompt template (mine or shared with me, searchable); a persona becomes the system prompt, a directive
 * goes into the message box. Its `{{variables}}` are filled in a small form first.
 */
export function TemplatePicker(props: {
  open: boolean;
  onClose: () => void;
  onPersona: (text: string, title: string) => void;
  onDirective: (text: string) => void;
}) {
  const { chat } = useServices();
  const [shared, setShared] = useState(false);
  const [q, setQ] = useState("");
  const [chosen, setChosen] = useState<PromptTemplate | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const query = useQuery({ ...templatesQuery(chat, shared, q), enabled: props.open });
  const templates = query.data ?? [];
  const error = queryError(query);

  function close() {
    setChosen(null);
    setValues({});
    setQ("");
    props.onClose();
  }

  function apply(template: PromptTemplate, filled: Record<string, string>) {
    const text = fillVariables(template.body, filled);
    if (template.type === "persona") props.onPersona(text, template.title);
    else props.onDirective(text);
    close();
  }

  function choose(template: PromptTemplate) {
    if (templateVariables(template.body).length) {
      setChosen(template);
      setValues({});
    } else apply(template, {});
  }

  return (
    <Modal open={props.open} title="Prompt templates" onClose={close} wide>
      {chosen ? (
        <form
          className="template-variables"
          aria-label="Fill in the template"
          onSubmit={(e) => {
            e.preventDefault();
            apply(chosen, values);
          }}
        >
          <p>
            <strong>{chosen.title}</strong> has blanks to fill in:
          </p>
          {templateVariables(chosen.body).map((name, i) => (
            <label key={name}>
              {name}
              <input
                autoFocus={i === 0}
                value={values[name] ?? ""}
                onChange={(e) => setValues((v) => ({ ...v, [name]: e.target.value }))}
              />
            </label>
          ))}
          <pre className="template-preview" data-testid="template-preview">
            {fillVariables(chosen.body, values)}
          </pre>
          <div className="row end">
            <button type="button" onClick={() => setChosen(null)}>
              Back
            </button>
            <button type="submit" className="primary">
              {chosen.type === "persona" ? "Use as system prompt" : "Insert"}
            </button>
          </div>
        </form>
      ) : (
        <>
          <TemplateFilter shared={shared} onShared={setShared} query={q} onQuery={setQ} />
          {error ? (
            <p className="error-box" role="alert">
              Templates could not be listed: {error}
            </p>
          ) : null}
          {!query.isPending && !templates.length ? (
            <p className="muted">
              {q ? "No template matches." : "No templates here yet."} <Link to="/templates">Write one</Link>
            </p>
          ) : null}
          <ul className="template-list">
            {templates.map((t) => (
              <li key={t.id}>
                <button type="button" className="template-choice" onClick={() => choose(t)}>
                  <span className={`badge ${t.type}`}>{t.type}</span> <strong>{t.title}</strong>
                  <span className="muted small-text template-body">{t.body}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </Modal>
  );
}
