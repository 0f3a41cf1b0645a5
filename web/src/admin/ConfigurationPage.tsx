import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { Configuration } from "../api/chatApi";
import { describeError } from "../api/errors";
import { chatKeys, configurationQuery } from "../app/chatQueries";
import { queryError } from "../app/queries";
import { useServices } from "../app/services";

/** The components LISA's configuration switches, with what each one shows users. */
const COMPONENTS: [string, string][] = [
  ["mcpConnections", "Tools over MCP connections"],
  ["showPromptTemplateLibrary", "Prompt templates"],
  ["enableModelComparisonUtility", "Model comparison"],
  ["uploadContextDocs", "Attach files to a message"],
  ["documentSummarization", "Summarise a document"],
  ["editKwargs", "Edit model parameters"],
  ["projectOrganization", "Folders (projects) of sessions"],
  ["deleteSessionHistory", "Delete all sessions"],
  ["uploadRagDocs", "Upload documents to repositories"],
];

/** Admins: which components users get, the system banner, the project limit; and the feedback users gave. */
export function ConfigurationPage() {
  const { chat } = useServices();
  const query = useQuery(configurationQuery(chat));
  const item = query.data;
  // Kept here: a save makes a new version, and the form is remounted for it (key), which would drop its message.
  const [saved, setSaved] = useState<string | null>(null);
  return (
    <section className="page" aria-labelledby="configuration-title">
      <h1 id="configuration-title">Configuration</h1>
      {queryError(query) ? (
        <p className="error-box" role="alert">
          {queryError(query)}
        </p>
      ) : null}
      {item ? (
        <ConfigurationForm
          key={item.versionId}
          version={item.versionId}
          initial={item.configuration}
          message={saved}
          onSaved={setSaved}
        />
      ) : null}
      <FeedbackList />
    </section>
  );
}

function ConfigurationForm(props: {
  version: number;
  initial: Configuration;
  message: string | null;
  onSaved: (message: string | null) => void;
}) {
  const { chat } = useServices();
  const client = useQueryClient();
  const [configuration, setConfiguration] = useState<Configuration>(props.initial);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const banner = configuration.systemBanner ?? {
    isEnabled: false,
    text: "",
    textColor: "#000000",
    backgroundColor: "#ffd54f",
  };
  const components = configuration.enabledComponents ?? {};

  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    props.onSaved(null);
    try {
      await chat.saveConfiguration({
        configScope: "global",
        versionId: props.version + 1,
        changeReason: reason,
        configuration,
      });
      props.onSaved("Saved. Users see it within a minute.");
      await client.invalidateQueries({ queryKey: chatKeys.configuration });
    } catch (e) {
      setError(describeError(e));
    }
  }

  return (
    <form className="card form-grid" onSubmit={(e) => void save(e)} aria-label="Configuration">
      <fieldset>
        <legend>What users get</legend>
        {COMPONENTS.map(([name, label]) => (
          <label key={name} className="check">
            <input
              type="checkbox"
              checked={components[name] ?? true}
              onChange={(e) =>
                setConfiguration((c) => ({ ...c, enabledComponents: { ...components, [name]: e.target.checked } }))
              }
            />
            {label}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>System banner</legend>
        <label className="check">
          <input
            type="checkbox"
            checked={banner.isEnabled ?? false}
            onChange={(e) =>
              setConfiguration((c) => ({ ...c, systemBanner: { ...banner, isEnabled: e.target.checked } }))
            }
          />
          Show a banner to everyone
        </label>
        <label>
          Text
          <input
            maxLength={500}
            value={banner.text ?? ""}
            onChange={(e) => setConfiguration((c) => ({ ...c, systemBanner: { ...banner, text: e.target.value } }))}
          />
        </label>
        <label>
          Text colour
          <input
            type="color"
            value={banner.textColor ?? "#000000"}
            onChange={(e) =>
              setConfiguration((c) => ({ ...c, systemBanner: { ...banner, textColor: e.target.value } }))
            }
          />
        </label>
        <label>
          Background
          <input
            type="color"
            value={banner.backgroundColor ?? "#ffd54f"}
            onChange={(e) =>
              setConfiguration((c) => ({ ...c, systemBanner: { ...banner, backgroundColor: e.target.value } }))
            }
          />
        </label>
      </fieldset>
      <label>
        Folders per user
        <input
          type="number"
          min={1}
          max={1000}
          value={configuration.maxProjectsPerUser ?? 50}
          onChange={(e) => setConfiguration((c) => ({ ...c, maxProjectsPerUser: Number(e.target.value) }))}
        />
      </label>
      <label>
        Why (kept with this version)
        <input maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <div className="row">
        <button type="submit" className="primary">
          Save version {props.version + 1}
        </button>
      </div>
      {props.message ? <p role="status">{props.message}</p> : null}
      {error ? (
        <p className="error-box" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

function FeedbackList() {
  const { chat } = useServices();
  const [days, setDays] = useState(7);
  const query = useQuery({ queryKey: chatKeys.feedback(days), queryFn: ({ signal }) => chat.feedback(days, signal) });
  const items = query.data ?? [];
  return (
    <section aria-labelledby="feedback-title">
      <div className="row between">
        <h2 id="feedback-title">Feedback on answers</h2>
        <label className="inline">
          <span>Last</span>
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={1}>day</option>
            <option value={7}>7 days</option>
            <option value={30}>30 days</option>
            <option value={90}>90 days</option>
          </select>
        </label>
      </div>
      {queryError(query) ? (
        <p className="error-box" role="alert">
          {queryError(query)}
        </p>
      ) : null}
      <table className="table" aria-label="Feedback">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>Model</th>
            <th>Rating</th>
            <th>Comment</th>
            <th>Answer</th>
          </tr>
        </thead>
        <tbody>
          {items.map((f) => (
            <tr key={`${f.sessionId}-${f.messageId}`} data-testid="feedback-row">
              <td className="small-text">{new Date(f.createdAt).toLocaleString()}</td>
              <td>{f.username}</td>
              <td>{f.model}</td>
              <td>{f.rating === "up" ? "good" : "bad"}</td>
              <td>{f.comment}</td>
              <td className="small-text">{f.excerpt}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!query.isPending && !items.length ? <p className="muted">No feedback in this period.</p> : null}
    </section>
  );
}
