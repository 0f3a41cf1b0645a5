"""RAG repositories (LISA's `/repository` API): ingest documents, search them, and chat with their sources.

Repositories come from the stage config (`ragRepositories`). A repository with `allowedGroups` is usable only by
members of one of those groups (and admins); an empty list means every signed-in user. A repository the caller may
not use answers 403, an unknown one 404. Errors are LISA's `{"error": "<Type>", "message": "..."}`: 400 bad
content (empty file, unreadable or encrypted PDF, no text, unknown embedding model, embedding dimension differing
from the repository's), 403, 404, 413 (file ≥ 50 MiB), 415 (unsupported type), 422 (a field out of range: topK,
query length, chunk size/overlap).

Routes:

    GET    /repository                                → 200 [Repository]  the ones the caller may use
    GET    /repository/{repositoryId}                 → 200 Repository (+ "embeddingModel", "dimension" once ingested)
    POST   /repository/presigned-url                  body {"fileName": str}
                                                      → 200 {"key", "url", "fields", "expiresIn", "maxBytes"}
             then POST the file to `url` as multipart/form-data: every entry of `fields`, then the file as "file";
             then call /bulk with the returned `key`.
    POST   /repository/{repositoryId}/bulk            body IngestRequest → 200 {"jobs": [Job]}
    POST   /repository/{repositoryId}/document        multipart/form-data: "file" (one or more), optional
                                                      "embeddingModel", "chunkSize", "chunkOverlap" → 200 {"jobs": [Job]}
    GET    /repository/{repositoryId}/document        → 200 {"documents": [Document], "totalDocuments": n}
    GET    /repository/{repositoryId}/jobs            → 200 {"jobs": [Job]}   newest first; ingest progress per document
    GET    /repository/{repositoryId}/{documentId}    → 200 Document | 404
    DELETE /repository/{repositoryId}/{documentId}    → 200 {"documentIds": [id], "recordsPurged": n}
    DELETE /repository/{repositoryId}/document        body {"documentIds": [id, ...]} → same, for several
    GET    /repository/{repositoryId}/similaritySearch?query=...&topK=3&modelName=<embedding model>
                                                      → 200 {"docs": [{"Document": {"page_content", "metadata"}}]}
    POST   /repository/{repositoryId}/similaritySearch  body {"query", "topK", "modelName"} → same (long queries)
    POST   /repository/{repositoryId}/chat/completions  RAG chat, see below

Ingest: the request validates, reads and parses the file and chunks it at once (so a bad file is a 4xx, and nothing
is stored), checks the embedding model by embedding the first chunk, stores the original in S3, records the document
with status INGESTION_PENDING and returns. A background job embeds the chunks (through the serve gateway's
`/v2/serve/embeddings`, so any registered embedding model works) and writes them to the store in one transaction:
INGESTION_IN_PROGRESS (with `chunksEmbedded` rising) → INGESTION_COMPLETED, or INGESTION_FAILED with `error` and
nothing of the document left in the store. Deleting a document removes its vectors, its S3 object and its record.
A repository's embedding dimension is fixed by its first ingest; a model with another dimension is a 400.

Shapes (JSON, camelCase):

    Repository     {"repositoryId", "type": "pgvector" | "opensearch", "allowedGroups": [str], "chunkSize",
                    "chunkOverlap", "defaultEmbeddingModel": str | null}
    IngestRequest  {"keys": [str], "embeddingModel": {"modelName": str} | str (optional: repository default),
                    "chunkingStrategy": {"type": "fixed", "size": int, "overlap": int} (optional: repository default)}
                    keys are those returned by /repository/presigned-url for the caller.
    Job            {"jobId", "documentId", "documentName", "status", "chunks", "chunksEmbedded", "error",
                    "s3Path", "embeddingModel", "createdDate", "updatedDate"}
    Document       Job + {"repositoryId", "source" (s3://…), "username", "contentType", "size",
                    "chunkStrategy": {"type": "fixed", "size", "overlap"}, "uploadDate"}
    metadata       {"documentId", "documentName", "source", "page" (1-based, PDF only, else null), "chunkIndex",
                    "similarity_score" (cosine similarity, higher is closer)}
    topK: 1-100 (default 3); query: 1-10 000 characters.

RAG in chat: `POST /repository/{repositoryId}/chat/completions` takes an OpenAI chat-completions body plus
`"topK"` (default 3) and `"embeddingModel"` (default: the repository's). The last user message is the search query;
the top-K chunks go into a system message with numbered sources, and the request goes on to the serve gateway with
the caller's own credentials (so serve decides which models the caller may use). The answer is OpenAI's
`chat.completion` object with one extra field, `"sources"`; with `"stream": true` it is OpenAI's SSE stream whose
first chunk carries `"sources"`, ending with `data: [DONE]`. Any OpenAI client works against it
(`base_url=<api>/repository/<id>`, extra fields via `extra_body`).

    Source         {"index" (the [n] the prompt cites), "documentId", "documentName", "source", "page", "chunkIndex",
                    "score", "excerpt" (≤ 300 characters of the chunk)}
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["repositories"])
