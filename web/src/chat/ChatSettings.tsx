import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { queryError, repositoriesQuery } from "../app/queries";
import { useServices } from "../app/services";
import { ModelPicker } from "../ui/ModelPicker";
import { RepositoryPicker } from "../ui/RepositoryPicker";
import type { ChatParameters, Conversation, RagSettings } from "./conversation";
import { embeddingModels, repositoryEmbeddingModel } from "./models";
import { useModels } from "./useModels";

function numberOrNull(text: string): number | null {
  return text.trim() === "" ? null : Number(text);
}

/** System prompt, sampling parameters and the RAG choice of the current conversation. */
export function ChatSettings(props: {
  conversation: Conversation;
  modelStreams: boolean;
  onChange: (change: Partial<Pick<Conversation, "systemPrompt" | "parameters" | "rag">>) => void;
}) {
  const { conversation, modelStreams, onChange } = props;
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
      <RagChoice rag={conversation.rag} onChange={(rag) => onChange({ rag })} />
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
          onChange={(e) => onChange(e.target.checked ? defaultsFor(repositories[0]?.repositoryId ?? "") : null)}
        />
        Answer from documents
      </label>
      {error ? <p className="muted small-text">Repositories unavailable: {error}</p> : null}
      {rag ? (
        <div className="grid3">
          <RepositoryPicker
            repositories={repositories}
            value={rag.repositoryId}
            onChange={(repositoryId) => onChange(defaultsFor(repositoryId))}
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
