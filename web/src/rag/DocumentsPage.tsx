import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { useServices } from "../app/services";
import type { IngestJob, RagDocument, Repository } from "../api/clients";
import { ApiError, describeError } from "../api/errors";
import { newId, newSessionId } from "../chat/ids";
import { embeddingModels } from "../chat/models";
import { useModels } from "../chat/ModelsContext";
import { ConfirmDialog, ErrorBox } from "../ui/ConfirmDialog";
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
  const { api, token } = useServices();
  const navigate = useNavigate();
  const { models } = useModels();
  const embedders = useMemo(() => embeddingModels(models), [models]);
  const [repositories, setRepositories] = useState<Repository[]>([]);
  const [repositoryId, setRepositoryId] = useState("");
  const [embeddingModel, setEmbeddingModel] = useState("");
  const [chunkSize, setChunkSize] = useState("");
  const [chunkOverlap, setChunkOverlap] = useState("");
  const [documents, setDocuments] = useState<RagDocument[]>([]);
  const [jobs, setJobs] = useState<IngestJob[]>([]);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<RagDocument | null>(null);
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const repository = repositories.find((r) => r.repositoryId === repositoryId);

  useEffect(() => {
    api
      .listRepositories()
      .then((list) => {
        setRepositories(list);
        setRepositoryId((id) => id || list[0]?.repositoryId || "");
      })
      .catch((e) => setError(describeError(e)));
  }, [api]);

  // On a repository change: its own model once it has one (its dimension is fixed), else its default, else the
  // first offered. Otherwise keep the user's choice while the model list refreshes.
  const chosenFor = useRef("");
  useEffect(() => {
    if (!repository) return;
    const fresh = chosenFor.current !== repository.repositoryId;
    chosenFor.current = repository.repositoryId;
    setEmbeddingModel((current) =>
      !fresh && current
        ? current
        : (repository.embeddingModel ?? repository.defaultEmbeddingModel ?? embedders[0]?.id ?? ""),
    );
  }, [repository, embedders]);

  const reload = useCallback(async () => {
    if (!repositoryId) return;
    try {
      const [docs, jobList] = await Promise.all([api.listDocuments(repositoryId), api.listJobs(repositoryId)]);
      setDocuments(docs);
      setJobs(jobList);
    } catch (e) {
      setError(describeError(e));
    }
  }, [api, repositoryId]);

  useEffect(() => {
    setDocuments([]);
    setJobs([]);
    void reload();
  }, [reload]);

  // Poll while an ingest is running.
  const running = jobs.some((j) => !ingestDone(j.status)) || documents.some((d) => !ingestDone(d.status));
  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => void reload(), 1000);
    return () => window.clearInterval(timer);
  }, [running, reload]);

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

  async function remove(doc: RagDocument) {
    setBusy(true);
    try {
      await api.deleteDocument(doc.repositoryId ?? repositoryId, doc.documentId);
      await reload();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
      setDeleting(null);
    }
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
        <label>
          Repository
          <select value={repositoryId} onChange={(e) => setRepositoryId(e.target.value)}>
            {!repositories.length ? <option value="">No repositories</option> : null}
            {repositories.map((r) => (
              <option key={r.repositoryId} value={r.repositoryId}>
                {r.repositoryId} ({r.type})
              </option>
            ))}
          </select>
        </label>
        <label>
          Embedding model
          <select value={embeddingModel} onChange={(e) => setEmbeddingModel(e.target.value)}>
            {embeddingModel && !embedders.some((m) => m.id === embeddingModel) ? (
              <option value={embeddingModel}>{embeddingModel}</option>
            ) : null}
            {!embedders.length && !embeddingModel ? <option value="">No embedding models</option> : null}
            {embedders.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id}
              </option>
            ))}
          </select>
        </label>
        <div className="align-end">
          <button
            type="button"
            disabled={!repositoryId}
            onClick={() =>
              navigate(
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

      <form className="card upload" onSubmit={upload} aria-label="Upload documents">
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
            {!documents.length ? (
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
                <td>
                  <button
                    type="button"
                    className="small"
                    onClick={() => setDeleting(d)}
                    aria-label={`Delete ${d.documentName}`}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this document?"
        confirmLabel="Delete"
        danger
        busy={busy}
        onCancel={() => setDeleting(null)}
        onConfirm={() => deleting && void remove(deleting)}
      >
        <p>
          “{deleting?.documentName}” and its vectors will be removed from {repositoryId}.
        </p>
      </ConfirmDialog>
    </section>
  );
}
