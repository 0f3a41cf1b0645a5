import { useEffect, useState } from "react";
import { useServices } from "../app/services";
import type { Repository } from "../api/clients";
import { describeError } from "../api/errors";
import type { ChatParameters, Conversation, RagSettings } from "./conversation";
import type { ModelInfo } from "./models";

function numberOrNull(text: string): number | null {
  return text.trim() === "" ? null : Number(text);
}

/** System prompt, sampling parameters and the RAG choice of the current conversation. */
export function ChatSettings(props: {
  conversation: Conversation;
  modelStreams: boolean;
  embeddingModels: ModelInfo[];
  onChange: (change: Partial<Pick<Conversation, "systemPrompt" | "parameters" | "rag">>) => void;
}) {
  const { conversation, modelStreams, embeddingModels, onChange } = props;
  const p = conversation.parameters;
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
      <div className="grid3">
        <label>
          Temperature
          <input
            type="number"
            min={0}
            max={2}
            step={0.1}
            value={p.temperature ?? ""}
            onChange={(e) => setParam({ temperature: numberOrNull(e.target.value) })}
          />
        </label>
        <label>
          Top p
          <input
            type="number"
            min={0}
            max={1}
            step={0.05}
            value={p.topP ?? ""}
            onChange={(e) => setParam({ topP: numberOrNull(e.target.value) })}
          />
        </label>
        <label>
          Max tokens
          <input
            type="number"
            min={1}
            step={1}
            placeholder="model default"
            value={p.maxTokens ?? ""}
            onChange={(e) => setParam({ maxTokens: numberOrNull(e.target.value) })}
          />
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
      <RagChoice rag={conversation.rag} embeddingModels={embeddingModels} onChange={(rag) => onChange({ rag })} />
    </div>
  );
}

function RagChoice(props: {
  rag: RagSettings | null;
  embeddingModels: ModelInfo[];
  onChange: (rag: RagSettings | null) => void;
}) {
  const { api } = useServices();
  const { rag, embeddingModels, onChange } = props;
  const [repositories, setRepositories] = useState<Repository[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    api
      .listRepositories(controller.signal)
      .then(setRepositories)
      .catch((e) => controller.signal.aborted || setError(describeError(e)));
    return () => controller.abort();
  }, [api]);

  function defaultsFor(repositoryId: string): RagSettings {
    const repo = repositories.find((r) => r.repositoryId === repositoryId);
    const preferred = repo?.embeddingModel ?? repo?.defaultEmbeddingModel ?? null;
    const embeddingModel =
      preferred && embeddingModels.some((m) => m.id === preferred)
        ? preferred
        : (embeddingModels[0]?.id ?? preferred ?? "");
    return { repositoryId, embeddingModel, topK: rag?.topK ?? 3 };
  }

  return (
    <fieldset className="rag">
      <legend>Documents (RAG)</legend>
      <label className="check">
        <input
          type="checkbox"
          checked={rag !== null}
          disabled={!repositories.length}
          onChange={(e) => onChange(e.target.checked ? defaultsFor(repositories[0]?.repositoryId ?? "") : null)}
        />
        Answer from documents
      </label>
      {error ? <p className="muted small-text">Repositories unavailable: {error}</p> : null}
      {rag ? (
        <div className="grid3">
          <label>
            Repository
            <select value={rag.repositoryId} onChange={(e) => onChange(defaultsFor(e.target.value))}>
              {repositories.map((r) => (
                <option key={r.repositoryId} value={r.repositoryId}>
                  {r.repositoryId} ({r.type})
                </option>
              ))}
            </select>
          </label>
          <label>
            Embedding model
            <select value={rag.embeddingModel} onChange={(e) => onChange({ ...rag, embeddingModel: e.target.value })}>
              {!embeddingModels.some((m) => m.id === rag.embeddingModel) ? (
                <option value={rag.embeddingModel}>{rag.embeddingModel || "none available"}</option>
              ) : null}
              {embeddingModels.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.id}
                </option>
              ))}
            </select>
          </label>
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
