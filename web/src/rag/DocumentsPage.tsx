import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { collectionsQuery, keys, queryError, repositoriesQuery, repositoryContentsQuery } from "../app/queries";
import { useConfiguration } from "../app/chatQueries";
import { useServices } from "../app/services";
import type { SummariseRequest } from "../chat/ChatPage";
import type { DocumentPageKey, RagDocument } from "../api/clients";
import { ApiError, describeError } from "../api/errors";
import { newId, newSessionId } from "../chat/ids";
import { embeddingModels, repositoryEmbeddingModel } from "../chat/models";
import { useModels } from "../chat/useModels";
import { ErrorBox } from "../ui/ConfirmDialog";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { ModelPicker } from "../ui/ModelPicker";
import { RepositoryPicker } from "../ui/RepositoryPicker";
import { ingestDone, ingestProgress, uploadDocument } from "./upload";
import { EmptyRow, TableHead } from "../ui/Table";

interface Upload {
  id: string;
  name: string;
  progress: number;
  error: string | null;
  problems: string[];
}

function documentTags(doc: RagDocument): string[] {
  const tags = (doc.metadata as { tags?: unknown } | undefined)?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
}

function size(bytes?: number): string {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function DocumentsPage() {
  const { api, chat, token } = useServices();
  const configuration = useConfiguration();
  const client = useQueryClient();
  const navigate = useNavigate();
  const { models, loaded: modelsLoaded } = useModels();
  const embedders = useMemo(() => embeddingModels(models), [models]);
  const repositoryList = useQuery(repositoriesQuery(api));
  const repositories = repositoryList.data ?? [];
  const [pickedRepository, setRepositoryId] = useState("");
  const repositoryId = pickedRepository || repositories[0]?.repositoryId || "";
  const repository = repositories.find((r) => r.repositoryId === repositoryId);
  // The user's choice holds for the repository it was made in; another repository starts from its own default.
  const [pickedModel, setPickedModel] = useState<{ repositoryId: string; model: string } | null>(null);
  const embeddingModel =
    pickedModel?.repositoryId === repositoryId ? pickedModel.model : repositoryEmbeddingModel(repository, embedders);
  const [chunkSize, setChunkSize] = useState("");
  const [chunkOverlap, setChunkOverlap] = useState("");
  const [tags, setTags] = useState("");
  const collectionList = useQuery(collectionsQuery(api, repositoryId));
  const collections = collectionList.data ?? [];
  const [pickedCollection, setPickedCollection] = useState<{ repositoryId: string; id: string } | null>(null);
  const collectionId =
    (pickedCollection?.repositoryId === repositoryId ? pickedCollection.id : "") ||
    collections.find((c) => c.default)?.collectionId ||
    collections[0]?.collectionId ||
    "";
  const collection = collections.find((c) => c.collectionId === collectionId);
  // LISA's paging: the keys of the pages before this one (to go back) and of this one.
  const [pages, setPages] = useState<(DocumentPageKey | null)[]>([null]);
  const after = pages[pages.length - 1] ?? null;
  const contents = useQuery(repositoryContentsQuery(api, repositoryId, collectionId, after));
  const documents = contents.data?.documents ?? [];
  const jobs = contents.data?.jobs ?? [];
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [actionError, setError] = useState<string | null>(null);
  const error = actionError ?? queryError(repositoryList) ?? queryError(contents);
  const fileInput = useRef<HTMLInputElement>(null);
  const reload = () => client.invalidateQueries({ queryKey: keys.documents(repositoryId) });

  async function upload(event: FormEvent) {
    event.preventDefault();
    const files = Array.from(fileInput.current?.files ?? []);
    if (!files.length || !repositoryId) return;
    setError(null);
    await Promise.all(
      files.map(async (file) => {
        const id = newId();
        const patch = (change: Partial<Upload>) =>
          setUploads((list) => list.map((u) => (u.id === id ? { ...u, ...change } : u)));
        setUploads((list) => [{ id, name: file.name, progress: 0, error: null, problems: [] }, ...list]);
        try {
          await uploadDocument({
            url: api.documentUploadUrl(repositoryId),
            token: await token(),
            file,
            collectionId: collection ? collectionId : undefined,
            tags: tags
              .split(",")
              .map((t) => t.trim())
              .filter(Boolean),
            embeddingModel: collection ? undefined : embeddingModel || undefined,
            chunkSize: chunkSize ? Number(chunkSize) : undefined,
            chunkOverlap: chunkOverlap ? Number(chunkOverlap) : undefined,
            onProgress: (progress) => patch({ progress }),
          });
          setUploads((list) => list.filter((u) => u.id !== id));
        } catch (e) {
          patch({ error: describeError(e), problems: e instanceof ApiError ? e.problems : [] });
        }
      }),
    );
    if (fileInput.current) fileInput.current.value = "";
    await reload();
  }

  /** "Summarise": the document's text goes to a new chat, attached, with the question asked at once. */
  async function summarise(doc: RagDocument) {
    setError(null);
    try {
      const text = await chat.repositoryDocumentText(
        doc.repository_id,
        doc.document_id,
        localStorage.getItem("lisa.lastModel"),
      );
      const state: SummariseRequest = { summarise: text };
      void navigate(`/chat/${newSessionId()}`, { state });
    } catch (e) {
      setError(`The document could not be read: ${describeError(e)}`);
    }
  }

  async function remove(doc: RagDocument) {
    setError(null);
    try {
      await api.deleteDocument(doc.repository_id, doc.document_id);
    } catch (e) {
      setError(describeError(e));
    }
    await reload();
  }

  async function download(doc: RagDocument) {
    setError(null);
    try {
      window.open(await api.downloadUrl(doc.repository_id, doc.document_id), "_blank", "noopener");
    } catch (e) {
      setError(describeError(e));
    }
  }

  function chooseRepository(id: string) {
    setRepositoryId(id);
    setPages([null]);
  }

  const pendingJobs = jobs.filter((j) => !ingestDone(j.status) || j.status === "INGESTION_FAILED");

  return (
    <section className="page" aria-labelledby="docs-title">
      <h1 id="docs-title">Documents</h1>
      <p className="muted">
        Upload documents to a repository, then ask about them in a chat with “Answer from documents” on.
      </p>
      <ErrorBox error={error} />
      <div className="grid3">
        <RepositoryPicker repositories={repositories} value={repositoryId} onChange={chooseRepository} />
        <label>
          Collection
          <select
            value={collectionId}
            onChange={(e) => {
              setPickedCollection({ repositoryId, id: e.target.value });
              setPages([null]);
            }}
          >
            {collections.length ? null : <option value="">(the first upload makes the default)</option>}
            {collections.map((c) => (
              <option key={c.collectionId} value={c.collectionId}>
                {c.name} ({c.embeddingModel})
              </option>
            ))}
          </select>
        </label>
        <ModelPicker
          label="Embedding model"
          models={embedders}
          value={embeddingModel}
          loaded={modelsLoaded}
          empty="No embedding models"
          onChange={(model) => setPickedModel({ repositoryId, model })}
        />
        <div className="align-end">
          <button
            type="button"
            disabled={!repositoryId}
            onClick={() =>
              void navigate(
                `/chat/${newSessionId()}?rag=${encodeURIComponent(repositoryId)}&embeddingModel=${encodeURIComponent(embeddingModel)}`,
              )
            }
          >
            Ask about these documents
          </button>
        </div>
      </div>
      {repository?.dimension ? (
        <p className="muted small-text">
          This repository holds {repository.dimension}-dimensional vectors from {repository.embeddingModel}; other
          uploads must use a model of that size.
        </p>
      ) : null}

      <form className="card upload" onSubmit={(e) => void upload(e)} aria-label="Upload documents">
        <label>
          Files (text, Markdown, PDF, DOCX)
          <input
            ref={fileInput}
            type="file"
            multiple
            accept=".txt,.md,.markdown,.pdf,.docx,text/plain,text/markdown,application/pdf"
          />
        </label>
        <details>
          <summary>Chunking</summary>
          <div className="grid3">
            <label>
              Chunk size
              <input
                type="number"
                min={100}
                max={10000}
                placeholder={String(repository?.chunkSize ?? "")}
                value={chunkSize}
                onChange={(e) => setChunkSize(e.target.value)}
              />
            </label>
            <label>
              Chunk overlap
              <input
                type="number"
                min={0}
                placeholder={String(repository?.chunkOverlap ?? "")}
                value={chunkOverlap}
                onChange={(e) => setChunkOverlap(e.target.value)}
              />
            </label>
          </div>
        </details>
        <label>
          Tags (comma-separated, searchable as a filter)
          <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="finance, policy" />
        </label>
        <button type="submit" className="primary" disabled={!repositoryId}>
          Upload
        </button>
        {uploads.map((u) => (
          <div key={u.id} className="upload-row" data-testid="upload-row">
            <span>{u.name}</span>
            {u.error ? (
              <ErrorBox error={`${u.name}: ${u.error}`} problems={u.problems} />
            ) : (
              <progress max={1} value={u.progress} aria-label={`Uploading ${u.name}`} />
            )}
          </div>
        ))}
      </form>

      {pendingJobs.length ? (
        <div aria-live="polite">
          <h2>Ingest</h2>
          <ul className="jobs">
            {pendingJobs.map((j) => (
              <li key={j.id} data-testid="ingest-job">
                <strong>{j.document_name}</strong>: {ingestProgress(j)}
                {j.error_message ? <span className="error-text"> — {j.error_message}</span> : null}
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      <h2>
        In {collection?.name ?? repositoryId ?? "this repository"}
        {contents.data?.totalDocuments ? (
          <span className="muted small-text"> ({contents.data.totalDocuments} documents)</span>
        ) : null}
      </h2>
      <div className="table-wrap">
        <table>
          <TableHead columns={["Document", "Status", "Size", "Tags", "Uploaded"]} actions />
          <tbody>
            {contents.isSuccess && !documents.length ? <EmptyRow columns={6}>No documents yet.</EmptyRow> : null}
            {documents.map((d) => (
              <tr key={d.document_id} data-testid="document-row">
                <td>{d.document_name}</td>
                <td data-testid="document-status">{ingestProgress(d)}</td>
                <td>{size(d.size ?? undefined)}</td>
                <td>{documentTags(d).join(", ")}</td>
                <td>{d.upload_date ? new Date(d.upload_date).toLocaleString() : ""}</td>
                <td className="row">
                  {configuration.enabled("documentSummarization") && d.status === "INGESTION_COMPLETED" ? (
                    <button
                      type="button"
                      className="small"
                      aria-label={`Summarise ${d.document_name}`}
                      onClick={() => void summarise(d)}
                    >
                      Summarise
                    </button>
                  ) : null}
                  <button
                    type="button"
                    className="small"
                    onClick={() => void download(d)}
                    aria-label={`Download ${d.document_name}`}
                  >
                    Download
                  </button>
                  <ConfirmDeleteButton
                    label={`Delete ${d.document_name}`}
                    title="Delete this document?"
                    onConfirm={() => remove(d)}
                  >
                    <p>
                      “{d.document_name}” and its vectors will be removed from {repositoryId}.
                    </p>
                  </ConfirmDeleteButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="pager" aria-label="Pages">
        <button type="button" disabled={pages.length < 2} onClick={() => setPages((p) => p.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!contents.data?.next}
          onClick={() => {
            const next = contents.data?.next;
            if (next) setPages((p) => [...p, next]);
          }}
        >
          Next page
        </button>
      </div>
    </section>
  );
}
