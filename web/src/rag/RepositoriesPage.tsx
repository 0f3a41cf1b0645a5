/**
 * Repositories and their collections (admins): a three-step wizard makes a repository (LISA's VectorStoreConfig;
 * the api deploys it as a stack of its own, previewable first), and each repository's collections are listed,
 * added (own embedding model, chunking, groups, tags) and deleted.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState, type FormEvent } from "react";
import type { NewCollection, NewRepository, Repository } from "../api/clients";
import { describeError } from "../api/errors";
import { collectionsQuery, keys, queryError, repositoriesQuery } from "../app/queries";
import { useServices } from "../app/services";
import { embeddingModels } from "../chat/models";
import { useModels } from "../chat/useModels";
import { ErrorBox } from "../ui/ConfirmDialog";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { ModelPicker } from "../ui/ModelPicker";
import { TableHead } from "../ui/Table";

const STEPS = ["Basics", "Embedding and access", "Review"] as const;

function list(text: string): string[] {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
}

interface Draft {
  repositoryId: string;
  repositoryName: string;
  type: "pgvector" | "opensearch";
  embeddingModelId: string;
  allowedGroups: string;
  chunkSize: string;
  chunkOverlap: string;
  searchType: "vector" | "hybrid";
}

const EMPTY: Draft = {
  repositoryId: "",
  repositoryName: "",
  type: "pgvector",
  embeddingModelId: "",
  allowedGroups: "",
  chunkSize: "512",
  chunkOverlap: "51",
  searchType: "vector",
};

export function repositoryPayload(draft: Draft): NewRepository {
  return {
    repositoryId: draft.repositoryId.trim(),
    repositoryName: draft.repositoryName.trim() || null,
    type: draft.type,
    embeddingModelId: draft.embeddingModelId || null,
    allowedGroups: list(draft.allowedGroups),
    chunkingStrategy: { type: "fixed", size: Number(draft.chunkSize), overlap: Number(draft.chunkOverlap) },
    searchType: draft.searchType,
  };
}

function RepositoryWizard({ onDone }: { onDone: () => void }) {
  const { api } = useServices();
  const { models, loaded } = useModels();
  const embedders = useMemo(() => embeddingModels(models), [models]);
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const [preview, setPreview] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (change: Partial<Draft>) => setDraft((d) => ({ ...d, ...change }));
  const model = draft.embeddingModelId || embedders[0]?.id || "";

  async function submit(dryRun: boolean) {
    setBusy(true);
    setError(null);
    try {
      const payload = repositoryPayload({ ...draft, embeddingModelId: model });
      if (dryRun) {
        const answer = await api.http.json<{ preview: { steps: { op: string; type: string }[] } }>(
          "/repository?dryRun=true",
          { method: "POST", body: payload },
        );
        setPreview(answer.preview.steps.map((s) => `${s.op} ${s.type.split(":").pop() ?? s.type}`));
      } else {
        await api.createRepository(payload);
        setDraft(EMPTY);
        setStep(0);
        setPreview(null);
        onDone();
      }
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  function next(event: FormEvent) {
    event.preventDefault();
    if (step < STEPS.length - 1) setStep(step + 1);
  }

  return (
    <form className="card" aria-label="New repository" onSubmit={next}>
      <h2>New repository</h2>
      <ol className="steps" aria-label="Steps">
        {STEPS.map((name, i) => (
          <li key={name} aria-current={i === step ? "step" : undefined} className={i === step ? "current" : ""}>
            {name}
          </li>
        ))}
      </ol>
      <ErrorBox error={error} />
      {step === 0 ? (
        <div className="grid3">
          <label>
            Repository id
            <input
              required
              pattern="[a-z0-9][a-z0-9\-]{1,18}[a-z0-9]"
              title="3-20 lowercase letters, digits and dashes"
              value={draft.repositoryId}
              onChange={(e) => set({ repositoryId: e.target.value })}
            />
          </label>
          <label>
            Name
            <input value={draft.repositoryName} onChange={(e) => set({ repositoryName: e.target.value })} />
          </label>
          <label>
            Store
            <select value={draft.type} onChange={(e) => set({ type: e.target.value as Draft["type"] })}>
              <option value="pgvector">PGVector</option>
              <option value="opensearch">OpenSearch</option>
            </select>
          </label>
        </div>
      ) : null}
      {step === 1 ? (
        <div className="grid3">
          <ModelPicker
            label="Embedding model"
            models={embedders}
            value={model}
            loaded={loaded}
            empty="No embedding models"
            onChange={(m) => set({ embeddingModelId: m })}
          />
          <label>
            Allowed groups (comma-separated; empty: everyone)
            <input value={draft.allowedGroups} onChange={(e) => set({ allowedGroups: e.target.value })} />
          </label>
          <label>
            Search
            <select
              value={draft.searchType}
              onChange={(e) => set({ searchType: e.target.value as Draft["searchType"] })}
            >
              <option value="vector">Vector</option>
              <option value="hybrid">Hybrid (vector and full text)</option>
            </select>
          </label>
          <label>
            Chunk size
            <input
              type="number"
              min={100}
              max={10000}
              value={draft.chunkSize}
              onChange={(e) => set({ chunkSize: e.target.value })}
            />
          </label>
          <label>
            Chunk overlap (at most half the size)
            <input
              type="number"
              min={0}
              max={Math.floor(Number(draft.chunkSize) / 2) || 0}
              value={draft.chunkOverlap}
              onChange={(e) => set({ chunkOverlap: e.target.value })}
            />
          </label>
        </div>
      ) : null}
      {step === 2 ? (
        <div>
          <pre data-testid="repository-review">
            {JSON.stringify(repositoryPayload({ ...draft, embeddingModelId: model }), null, 2)}
          </pre>
          {preview ? (
            <ul aria-label="Preview" data-testid="repository-preview">
              {preview.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <div className="row">
        <button type="button" disabled={step === 0 || busy} onClick={() => setStep(step - 1)}>
          Back
        </button>
        {step < STEPS.length - 1 ? (
          <button type="submit" className="primary">
            Next
          </button>
        ) : (
          <>
            <button type="button" disabled={busy} onClick={() => void submit(true)}>
              Preview
            </button>
            <button type="button" className="primary" disabled={busy} onClick={() => void submit(false)}>
              Create repository
            </button>
          </>
        )}
      </div>
    </form>
  );
}

function Collections({ repository }: { repository: Repository }) {
  const { api } = useServices();
  const client = useQueryClient();
  const { models, loaded } = useModels();
  const embedders = useMemo(() => embeddingModels(models), [models]);
  const collections = useQuery(collectionsQuery(api, repository.repositoryId));
  const [name, setName] = useState("");
  const [model, setModel] = useState("");
  const [chunking, setChunking] = useState<"fixed" | "none">("fixed");
  const [groups, setGroups] = useState("");
  const [tags, setTags] = useState("");
  const [error, setError] = useState<string | null>(null);
  const reload = () => client.invalidateQueries({ queryKey: keys.collections(repository.repositoryId) });
  const chosen = model || repository.embeddingModelId || embedders[0]?.id || "";

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const payload: NewCollection = {
      name,
      embeddingModel: chosen,
      chunkingStrategy: chunking === "none" ? { type: "none" } : { type: "fixed", size: 512, overlap: 51 },
      allowedGroups: list(groups),
      metadata: { tags: list(tags) },
    };
    try {
      await api.createCollection(repository.repositoryId, payload);
      setName("");
      await reload();
    } catch (e) {
      setError(describeError(e));
    }
  }

  return (
    <section aria-label={`Collections of ${repository.repositoryId}`}>
      <h2>Collections of {repository.repositoryId}</h2>
      <ErrorBox error={error ?? queryError(collections)} />
      <div className="table-wrap">
        <table>
          <TableHead columns={["Collection", "Embedding model", "Chunking", "Groups", "Status"]} actions />
          <tbody>
            {(collections.data ?? []).map((c) => (
              <tr key={c.collectionId} data-testid="collection-row">
                <td>
                  {c.name}
                  {c.default ? <span className="muted"> (default)</span> : null}
                </td>
                <td>{c.embeddingModel}</td>
                <td>{String((c.chunkingStrategy as { type?: string }).type ?? "")}</td>
                <td>{(c.allowedGroups ?? []).join(", ") || "everyone"}</td>
                <td>{c.status}</td>
                <td>
                  <ConfirmDeleteButton
                    label={`Delete collection ${c.name}`}
                    title="Delete this collection?"
                    onConfirm={async () => {
                      await api.deleteCollection(repository.repositoryId, c.collectionId);
                      await reload();
                    }}
                  >
                    <p>Its documents and their vectors are deleted with it.</p>
                  </ConfirmDeleteButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form className="card grid3" aria-label="New collection" onSubmit={(e) => void create(e)}>
        <label>
          Collection name
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <ModelPicker
          label="Collection embedding model"
          models={embedders}
          value={chosen}
          loaded={loaded}
          empty="No embedding models"
          onChange={setModel}
        />
        <label>
          Chunking
          <select value={chunking} onChange={(e) => setChunking(e.target.value as "fixed" | "none")}>
            <option value="fixed">Fixed (512, overlap 51)</option>
            <option value="none">None (a page is a chunk)</option>
          </select>
        </label>
        <label>
          Collection groups (comma-separated)
          <input value={groups} onChange={(e) => setGroups(e.target.value)} />
        </label>
        <label>
          Collection tags (comma-separated)
          <input value={tags} onChange={(e) => setTags(e.target.value)} />
        </label>
        <div className="align-end">
          <button type="submit" className="primary">
            Add collection
          </button>
        </div>
      </form>
    </section>
  );
}

export function RepositoriesPage() {
  const { api } = useServices();
  const client = useQueryClient();
  const repositories = useQuery(repositoriesQuery(api));
  const [selected, setSelected] = useState("");
  const [error, setError] = useState<string | null>(null);
  const reload = () => client.invalidateQueries({ queryKey: keys.repositories });
  const current = (repositories.data ?? []).find((r) => r.repositoryId === selected);

  return (
    <section className="page" aria-labelledby="repositories-title">
      <h1 id="repositories-title">Repositories</h1>
      <ErrorBox error={error ?? queryError(repositories)} />
      <div className="table-wrap">
        <table>
          <TableHead columns={["Repository", "Store", "Status", "Embedding model", "Source"]} actions />
          <tbody>
            {(repositories.data ?? []).map((r) => (
              <tr key={r.repositoryId} data-testid="repository-row">
                <td>{r.repositoryName ?? r.repositoryId}</td>
                <td>{r.type}</td>
                <td data-testid="repository-status" title={r.statusReason ?? undefined}>
                  {r.status}
                </td>
                <td>{r.embeddingModelId ?? ""}</td>
                <td>{r.source === "stage" ? "stage config" : "api"}</td>
                <td className="actions">
                  <button type="button" onClick={() => setSelected(r.repositoryId)}>
                    Collections of {r.repositoryId}
                  </button>
                  {r.source === "api" ? (
                    <ConfirmDeleteButton
                      label={`Delete repository ${r.repositoryId}`}
                      title="Delete this repository?"
                      onConfirm={async () => {
                        setError(null);
                        try {
                          await api.deleteRepository(r.repositoryId);
                        } catch (e) {
                          setError(describeError(e));
                        }
                        await reload();
                      }}
                    >
                      <p>Its collections, documents and vectors are deleted, then its stack.</p>
                    </ConfirmDeleteButton>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <RepositoryWizard onDone={() => void reload()} />
      {current ? <Collections repository={current} /> : null}
    </section>
  );
}
