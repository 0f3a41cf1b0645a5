import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { keys, queryError, repositoriesQuery, repositoryContentsQuery } from "../app/queries";
import { useConfiguration } from "../app/chatQueries";
import { useServices } from "../app/services";
import type { SummariseRequest } from "../chat/ChatPage";
import type { RagDocument } from "../api/clients";
import { ApiError, describeError } from "../api/errors";
import { newId, newSessionId } from "../chat/ids";
import { embeddingModels, repositoryEmbeddingModel } from "../chat/models";
import { useModels } from "../chat/useModels";
import { ErrorBox } from "../ui/ConfirmDialog";
import { ConfirmDeleteButton } from "../ui/ConfirmDeleteButton";
import { ModelPicker } from "../ui/ModelPicker";
import { RepositoryPicker } from "../ui/RepositoryPicker";
import { ingestDone, ingestProgress, uploadDocument } from "./upload";

interface Upload {
  id: string;
  name: string;
  progress: number;
  error: string | null;
  problems: string[];
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
  const contents = useQuery(repositoryContentsQuery(api, repositoryId));
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
            embeddingModel: embeddingModel || undefined,
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
        doc.repositoryId ?? repositoryId,
        doc.documentId,
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
      await api.deleteDocument(doc.repositoryId ?? repositoryId, doc.documentId);
    } catch (e) {
      setError(describeError(e));
    }
    await reload();
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
        <RepositoryPicker repositories={repositories} value={repositoryId} onChange={setRepositoryId} />
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
                min={64}
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
              <li key={j.jobId} data-testid="ingest-job">
                <strong>{j.documentName}</strong>: {ingestProgress(j)}
                {j.error ? <span className="error-text"> — {j.error}</span> : null}
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      <h2>In {repositoryId || "this repository"}</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Document</th>
              <th scope="col">Status</th>
              <th scope="col">Size</th>
              <th scope="col">Embedding model</th>
              <th scope="col">Uploaded</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {contents.isSuccess && !documents.length ? (
              <tr>
                <td colSpan={6} className="muted">
                  No documents yet.
                </td>
              </tr>
            ) : null}
            {documents.map((d) => (
              <tr key={d.documentId} data-testid="document-row">
                <td>{d.documentName}</td>
                <td data-testid="document-status">{ingestProgress(d)}</td>
                <td>{size(d.size)}</td>
                <td>{d.embeddingModel}</td>
                <td>{d.uploadDate ? new Date(d.uploadDate).toLocaleString() : ""}</td>
                <td className="row">
                  {configuration.enabled("documentSummarization") && d.status === "INGESTION_COMPLETED" ? (
                    <button
                      type="button"
                      className="small"
                      aria-label={`Summarise ${d.documentName}`}
                      onClick={() => void summarise(d)}
                    >
                      Summarise
                    </button>
                  ) : null}
                  <ConfirmDeleteButton
                    label={`Delete ${d.documentName}`}
                    title="Delete this document?"
                    onConfirm={() => remove(d)}
                  >
                    <p>
                      “{d.documentName}” and its vectors will be removed from {repositoryId}.
                    </p>
                  </ConfirmDeleteButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
