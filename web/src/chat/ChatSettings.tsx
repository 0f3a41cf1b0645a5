import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { queryError, repositoriesQuery } from "../app/queries";
import { usePreferences } from "../app/chatQueries";
import { useServices } from "../app/services";
import { ModelPicker } from "../ui/ModelPicker";
import { RepositoryPicker } from "../ui/RepositoryPicker";
import type { ChatParameters, Conversation, RagSettings, ReasoningEffort } from "./conversation";
import { embeddingModels, repositoryEmbeddingModel } from "./models";
import { parameterErrors, stopFromText } from "./payload";
import { useModels } from "./useModels";

function numberOrNull(text: string): number | null {
  return text.trim() === "" ? null : Number(text);
}

function Field(props: {
  label: string;
  error?: string;
  value: number | null;
  min?: number;
  max?: number;
  step?: number;
  placeholder?: string;
  onChange: (value: number | null) => void;
}) {
  const id = `param-${props.label.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <label>
      {props.label}
      <input
        id={id}
        type="number"
        min={props.min}
        max={props.max}
        step={props.step}
        placeholder={props.placeholder ?? "model default"}
        value={props.value ?? ""}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
        onChange={(e) => props.onChange(numberOrNull(e.target.value))}
      />
      {props.error ? (
        <span id={`${id}-error`} className="field-error" role="alert">
          {props.error}
        </span>
      ) : null}
    </label>
  );
}

/** System prompt, sampling parameters and the RAG choice of the current conversation; bad values shown inline. */
export function ChatSettings(props: {
  conversation: Conversation;
  modelStreams: boolean;
  onChange: (change: Partial<Pick<Conversation, "systemPrompt" | "parameters" | "rag">>) => void;
  /** LISA's editKwargs: when off, only the system prompt and the documents choice are offered. */
  editParameters?: boolean;
  /** Keep these parameters as the user's defaults (their preferences). */
  onSaveDefaults?: () => void;
}) {
  const { conversation, modelStreams, onChange } = props;
  const p = conversation.parameters;
  const errors = parameterErrors(p);
  const [stopText, setStopText] = useState(p.stop.join("\n"));
  const setParam = (change: Partial<ChatParameters>) => onChange({ parameters: { ...p, ...change } });

  return (
    <div className="settings" aria-label="Chat settings">
      <label>
        System prompt
        <textarea
          value={conversation.systemPrompt}
          rows={3}
          placeholder="e.g. You are a concise assistant."
          onChange={(e) => onChange({ systemPrompt: e.target.value })}
        />
      </label>
      {props.editParameters !== false ? (
        <>
          <div className="grid3">
            <Field
              label="Temperature"
              min={0}
              max={2}
              step={0.1}
              value={p.temperature}
              error={errors.temperature}
              onChange={(temperature) => setParam({ temperature })}
            />
            <Field
              label="Top p"
              min={0}
              max={1}
              step={0.05}
              value={p.topP}
              error={errors.topP}
              onChange={(topP) => setParam({ topP })}
            />
            <Field
              label="Max tokens"
              min={1}
              step={1}
              value={p.maxTokens}
              error={errors.maxTokens}
              onChange={(maxTokens) => setParam({ maxTokens })}
            />
            <Field
              label="Presence penalty"
              min={-2}
              max={2}
              step={0.1}
              value={p.presencePenalty}
              error={errors.presencePenalty}
              onChange={(presencePenalty) => setParam({ presencePenalty })}
            />
            <Field
              label="Frequency penalty"
              min={-2}
              max={2}
              step={0.1}
              value={p.frequencyPenalty}
              error={errors.frequencyPenalty}
              onChange={(frequencyPenalty) => setParam({ frequencyPenalty })}
            />
            <Field
              label="Seed"
              step={1}
              value={p.seed}
              error={errors.seed}
              placeholder="random"
              onChange={(seed) => setParam({ seed })}
            />
            <Field
              label="History (messages)"
              min={1}
              step={1}
              value={p.historyBuffer}
              error={errors.historyBuffer}
              placeholder="all"
              onChange={(historyBuffer) => setParam({ historyBuffer })}
            />
            <label>
              Reasoning effort
              <select
                value={p.reasoningEffort ?? ""}
                onChange={(e) => setParam({ reasoningEffort: (e.target.value || null) as ReasoningEffort | null })}
              >
                <option value="">model default</option>
                <option value="minimal">minimal</option>
                <option value="low">low</option>
                <option value="medium">medium</option>
                <option value="high">high</option>
              </select>
            </label>
            <label>
              Stop sequences (one per line)
              <textarea
                rows={2}
                value={stopText}
                aria-invalid={errors.stop ? true : undefined}
                onChange={(e) => {
                  setStopText(e.target.value);
                  setParam({ stop: stopFromText(e.target.value) });
                }}
              />
              {errors.stop ? (
                <span className="field-error" role="alert">
                  {errors.stop}
                </span>
              ) : null}
            </label>
          </div>
          <label className="check">
            <input
              type="checkbox"
              checked={p.streaming && modelStreams}
              disabled={!modelStreams}
              onChange={(e) => setParam({ streaming: e.target.checked })}
            />
            Stream the answer{modelStreams ? "" : " (this model does not stream)"}
          </label>
        </>
      ) : null}
      {props.onSaveDefaults ? (
        <button
          type="button"
          className="small"
          disabled={Object.keys(errors).length > 0}
          onClick={props.onSaveDefaults}
        >
          Use these parameters for new chats
        </button>
      ) : null}
      <RagChoice rag={conversation.rag} onChange={(rag) => onChange({ rag })} />
      {conversation.rag && conversation.mcpServers.length ? (
        <p className="notice small-text">While answering from documents, the chosen tools are not offered.</p>
      ) : null}
    </div>
  );
}

function RagChoice(props: { rag: RagSettings | null; onChange: (rag: RagSettings | null) => void }) {
  const { api } = useServices();
  const { rag, onChange } = props;
  const { models, loaded: modelsLoaded } = useModels();
  const embedders = useMemo(() => embeddingModels(models), [models]);
  const query = useQuery(repositoriesQuery(api));
  const repositories = query.data ?? [];
  const error = queryError(query);

  const { preferences, save: savePreferences } = usePreferences();
  const remembered = repositories.find((r) => r.repositoryId === preferences?.lastRepository)?.repositoryId;

  function choose(next: RagSettings | null) {
    if (next?.repositoryId && next.repositoryId !== preferences?.lastRepository)
      savePreferences({ lastRepository: next.repositoryId });
    onChange(next);
  }

  function defaultsFor(repositoryId: string): RagSettings {
    const repository = repositories.find((r) => r.repositoryId === repositoryId);
    return { repositoryId, embeddingModel: repositoryEmbeddingModel(repository, embedders), topK: rag?.topK ?? 3 };
  }

  return (
    <fieldset className="rag">
      <legend>Documents (RAG)</legend>
      <label className="check">
        <input
          type="checkbox"
          checked={rag !== null}
          disabled={!repositories.length}
          onChange={(e) =>
            choose(e.target.checked ? defaultsFor(remembered ?? repositories[0]?.repositoryId ?? "") : null)
          }
        />
        Answer from documents
      </label>
      {error ? <p className="muted small-text">Repositories unavailable: {error}</p> : null}
      {rag ? (
        <div className="grid3">
          <RepositoryPicker
            repositories={repositories}
            value={rag.repositoryId}
            onChange={(repositoryId) => choose(defaultsFor(repositoryId))}
          />
          <ModelPicker
            label="Embedding model"
            models={embedders}
            value={rag.embeddingModel}
            loaded={modelsLoaded}
            empty="No embedding models"
            onChange={(embeddingModel) => onChange({ ...rag, embeddingModel })}
          />
          <label>
            Top K
            <input
              type="number"
              min={1}
              max={100}
              value={rag.topK}
              onChange={(e) => onChange({ ...rag, topK: Number(e.target.value) })}
            />
          </label>
        </div>
      ) : null}
    </fieldset>
  );
}
