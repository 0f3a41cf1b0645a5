"""RAG benchmark: ingest throughput and similarity-search latency/recall on real text embedded with the local model.

Corpus (offline, from what this machine has): the Python standard library's documentation (`pydoc_data.topics` and
the docstrings of the stdlib's modules, classes and functions), the API documentation in botocore's service models
(HTML stripped) and the docstrings of pulumi_aws — each file one document, chunked like an ingest does (512
characters, no overlap), exact duplicates dropped, shuffled with a fixed seed. Queries are held-out chunks (never
indexed), cut to what a person types: their first ~60 characters (~12 words) and, as a second set, ~120 (~25).
The embedded corpus is cached under ~/.cache/lisa/bench (LISA_BENCH_CACHE): the first 100k run embeds ~100k
chunks (about 80 min on 2 quiet cores, ~20 chunks/s), later runs take minutes.

Measured, in one run:
- embedding model throughput (in-process MiniLM, calls of 32 texts as ingest sends them) = the reference for ingest;
- ingest through the api (multipart upload → parse → chunk → embed via serve → pgvector), chunks/s, and its ratio
  to the model's own throughput; ingest excluding embedding (parse+chunk, and the store's writes of pre-embedded
  chunks with the HNSW index in place, as ingest writes them);
- at 10k and 100k chunks: store-level top-10 search p50/p99 and recall@10 against exact search (numpy, same run)
  for several `hnsw.ef_search`, with Postgres' own exact scan as the baseline ratio; and through the api
  (`GET /repository/docs/similaritySearch`: query embedding + search + HTTP) p50/p99 and recall@10, next to the
  model's own time for the same queries, so what the api and gateway add is visible; and the same query's embedding
  through serve (what the api itself calls), for the goal api p50 <= serve embedding p50 + store p50 + 2 ms;
- retrieval quality, vector vs hybrid (vector + full text fused by reciprocal rank fusion), at each size: hit@10 and
  MRR of queries whose answer is a known indexed chunk: a sentence taken from it verbatim ("exact"), and the same
  sentence reworded offline ("reworded": stop words dropped, a third of the content words dropped, the rest reversed:
  no thesaurus or LLM is available offline, so the words that remain are the chunk's own);
- filtered search: every chunk carries tags (t0..t9 on a tenth each; `rare` on one in a hundred) and filtered
  top-10 (metadata containment inside the HNSW scan, iterative scan) is compared with the exact filtered top-10.
HNSW parameters: the store's settings (LISA_RAG_HNSW_M, _EF_CONSTRUCTION, _EF_SEARCH) or --m/--ef-construction/
--ef-search.

Run: `make bench-rag` or `python benchmarks/rag.py [--sizes 10000,100000] [--queries 300]`. Everything it starts
(emulated AWS, embedded Postgres, embedding server, serve, api) is stopped at the end.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import json
import os
import random
import re
import statistics
import sys
import sysconfig
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np  # noqa: E402
import requests  # noqa: E402

from tests.fixtures import processes  # noqa: E402

CACHE = Path(os.environ.get("LISA_BENCH_CACHE", Path.home() / ".cache/lisa/bench"))
LOG_DIR = Path(os.environ.get("LISA_BENCH_LOGS", tempfile.gettempdir())) / "lisa-bench-rag"
CORPUS_VERSION = "v1"
CHUNK_SIZE = 512
MASTER_KEY = "sk-bench-master-key-0001"
REPO_ID = "docs"
MODEL = "minilm"
COLLECTION = MODEL  # the stage repository's default collection, taken from the first ingest's model
QUALITY_QUERIES = 200
STOP_WORDS = frozenset("""a an and are as at be by can for from has have if in into is it its of on or that the their
this to was were which will with you your not no this these those than then when where who how what does do may must
should would could also such each any all only more most other some""".split())
EF_SWEEP = (40, 64, 80, 100, 128, 160, 200)
INGEST_CHUNKS = 1024
HNSW = {"m": 16, "ef_construction": 64}  # replaced in main() by the store's settings (LISA_RAG_HNSW_*)


# Corpus ------------------------------------------------------------------------------------------------------------
def _stdlib_documents() -> list[str]:
    import pydoc_data.topics as topics

    docs = [text for _, text in sorted(topics.topics.items())]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.rglob("*.py")):
        if {"test", "tests", "site-packages", "idlelib"} & set(path.relative_to(stdlib).parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        strings = [ast.get_docstring(n) for n in ast.walk(tree)
                   if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        docs.append("\n\n".join(s for s in strings if s and len(s) > 80))
    return docs


def _botocore_documents() -> list[str]:
    import botocore

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "documentation" and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    docs = []
    for path in sorted((Path(botocore.__file__).parent / "data").rglob("service-2.json*")):
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        texts = (re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", d)).strip() for d in walk(json.loads(raw)))
        docs.append("\n\n".join(t for t in texts if len(t) > 80))
    return docs


def _pulumi_aws_documents() -> list[str]:
    import pulumi_aws

    pattern = re.compile(r'"""(.*?)"""', re.S)
    docs = []
    for path in sorted(Path(pulumi_aws.__file__).parent.rglob("*.py")):
        strings = (m.group(1).strip() for m in pattern.finditer(path.read_text(encoding="utf-8", errors="ignore")))
        docs.append("\n\n".join(s for s in strings if len(s) > 200))
    return docs


def corpus() -> list[str]:
    """Unique real-text chunks in a fixed shuffled order (cached)."""
    from services.rag.chunking import split_text

    path = CACHE / f"rag-corpus-{CORPUS_VERSION}.json"
    if path.exists():
        return json.loads(path.read_text())
    print("building the corpus from the stdlib docs, botocore's API docs and pulumi_aws docstrings ...", flush=True)
    seen: set[str] = set()
    chunks: list[str] = []
    for source in (_stdlib_documents, _botocore_documents, _pulumi_aws_documents):
        for document in source():
            for chunk in split_text(document, CHUNK_SIZE, 0):
                if len(chunk) >= 100 and chunk not in seen:
                    seen.add(chunk)
                    chunks.append(chunk)
    random.Random(20241125).shuffle(chunks)
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(chunks))
    return chunks


def embedded(texts: list[str], count: int, model) -> np.ndarray:
    """Vectors of texts[:count], cached and filled in incrementally (an interrupted run resumes)."""
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:12]
    path, progress = CACHE / f"rag-vectors-{CORPUS_VERSION}-{digest}.npy", CACHE / f"rag-vectors-{CORPUS_VERSION}-{digest}.done"
    if not path.exists():
        np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(texts), 384)).flush()
        progress.write_text("0")
    vectors = np.lib.format.open_memmap(path, mode="r+")
    done = int(progress.read_text())
    started, start_done = time.monotonic(), done
    while done < count:
        end = min(done + 1024, count)
        vectors[done:end] = model.embed(texts[done:end]).vectors
        vectors.flush()
        done = end
        progress.write_text(str(done))
        rate = (done - start_done) / (time.monotonic() - started)
        print(f"  embedded {done}/{count} chunks ({rate:.0f}/s, {(count - done) / rate / 60:.1f} min left)", flush=True)
    return np.asarray(vectors[:count])


# Stats -------------------------------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def recall_at_10(found: list[int], exact: np.ndarray) -> float:
    return len(set(found) & set(exact.tolist())) / 10


def exact_top10(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    scores = matrix @ query
    top = np.argpartition(-scores, 10)[:10]
    return top[np.argsort(-scores[top])]


# The stack ---------------------------------------------------------------------------------------------------------
def start_stack(stack: ExitStack, ef_search: int):
    from core import aws
    from core.config import parse_stage_config
    from core.models import ModelRecord, ModelType
    from core.registry import ModelRegistry, Registration
    from services.local.emulated_aws import provision
    from services.local.postgres import EmbeddedPostgres
    from tests.fixtures.stage import stage_dict

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    endpoint = stack.enter_context(processes.moto_server(log=LOG_DIR / "moto.log"))
    os.environ.update(LISA_AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      LISA_REGION="us-east-1")
    aws.reset()
    platform = provision(parse_stage_config(stage_dict(
        litellmConfig={"general_settings": {"master_key": MASTER_KEY}, "model_list": []})))

    state = Path(tempfile.mkdtemp(prefix="lisa-bench-pg-"))
    state.chmod(0o755)
    pg = EmbeddedPostgres(state / "pg", processes.free_port(), log_path=LOG_DIR / "postgres.log")
    pg.start()
    stack.callback(pg.stop)

    port = processes.free_port()
    embeddings = f"http://127.0.0.1:{port}"
    stack.enter_context(processes.server([sys.executable, "-m", "services.embeddings", "--port", str(port)],
                                         f"{embeddings}/health", log=LOG_DIR / "embeddings.log", timeout=60))
    registry = ModelRegistry(platform.tables.models)
    registry.create(ModelRecord(model_id=MODEL, model_name="openai/all-minilm-l6-v2", model_url=f"{embeddings}/v1",
                                model_type=ModelType.EMBEDDING))
    registry.set_registration(MODEL, Registration(model_name=MODEL, model_type=ModelType.EMBEDDING, litellm_params={
        "model": "openai/all-minilm-l6-v2", "api_base": f"{embeddings}/v1"}))

    serve, _ = stack.enter_context(processes.serve_app(platform.model_dump_json(), log=LOG_DIR / "serve.log", timeout=90))

    from services.identity.tokens import TokenStore

    token, _ = TokenStore(platform.tables.tokens).issue(user_id="bench", username="bench", name="rag benchmark")
    work = Path(tempfile.mkdtemp(prefix="lisa-bench-api-"))
    env = {"LISA_PLATFORM": platform.model_dump_json(), "LISA_RAG_SERVE_URL": serve, "LISA_RAG_PG_DSN": pg.dsn,
           "LISA_RAG_HNSW_EF_SEARCH": str(ef_search), "LISA_RAG_HNSW_M": str(HNSW["m"]),
           "LISA_RAG_HNSW_EF_CONSTRUCTION": str(HNSW["ef_construction"]),
           **processes.engine_env(work, LISA_ENGINE_RESUME_ON_START="false")}
    api, _ = stack.enter_context(processes.api_app(env, log=LOG_DIR / "api.log", timeout=90))
    session = requests.Session()
    session.headers["authorization"] = f"Bearer {token}"
    return platform, pg.dsn, api, serve, session


# Ingest ------------------------------------------------------------------------------------------------------------
def bench_ingest(model, texts: list[str], api: str, session: requests.Session, platform,
                 ingest_chunks: int = INGEST_CHUNKS) -> dict[str, float]:
    from services.rag.chunking import split_text
    from services.rag.documents import DocumentTable

    sample = texts[:ingest_chunks]
    model.embed(sample[:64])  # warm-up
    started = time.perf_counter()
    for i in range(0, len(sample), 32):
        model.embed(sample[i:i + 32])
    model_rate = len(sample) / (time.perf_counter() - started)

    document = "\n\n".join(sample).encode()
    started = time.perf_counter()
    chunks = split_text(document.decode(), CHUNK_SIZE, 0)
    chunk_rate = len(chunks) / (time.perf_counter() - started)

    started = time.time()
    response = session.post(f"{api}/repository/{REPO_ID}/document", timeout=600,
                            files={"file": ("ingest-benchmark.txt", document)},
                            data={"embeddingModel": MODEL, "chunkSize": str(CHUNK_SIZE), "chunkOverlap": "0"})
    response.raise_for_status()
    job = response.json()["jobs"][0]
    while True:
        # Polled slowly: every poll costs the api and the emulated DynamoDB CPU the model would otherwise have.
        time.sleep(2.0)
        doc = session.get(f"{api}/repository/{REPO_ID}/{job['documentId']}", timeout=30).json()
        if doc["status"] in ("INGESTION_COMPLETED", "INGESTION_FAILED"):
            break
    if doc["status"] != "INGESTION_COMPLETED":
        raise RuntimeError(f"the ingest failed: {doc['error_message']}")
    # The job stamps its record when it completes: the end time, to the millisecond, without polling fast.
    record = DocumentTable(platform.tables.rag_documents).get(REPO_ID, job["documentId"])
    elapsed = datetime.fromisoformat(record.updated_date.replace("Z", "+00:00")).timestamp() - started
    session.request("DELETE", f"{api}/repository/{REPO_ID}/document", json={"documentIds": [job["documentId"]]},
                    timeout=60).raise_for_status()
    return {"chunks": doc["chunks"], "model_rate": model_rate, "ingest_rate": doc["chunks"] / elapsed,
            "chunk_rate": chunk_rate}


def bench_store_writes(dsn: str, vectors: np.ndarray, texts: list[str]) -> float:
    """Chunks/s written the way an ingest job writes them (batches of 32, HNSW index in place), embedding excluded."""
    from services.rag.stores.base import ChunkRecord
    from services.rag.stores.pgvector import PgVectorStore, open_pool

    pool = open_pool(dsn, 1, 40)
    store = PgVectorStore("bench-writes", pool, **HNSW)
    store.drop()
    store.prepare(384, MODEL)
    n = min(len(vectors), 10_000)
    started = time.perf_counter()
    with store.writer("doc") as writer:
        for i in range(0, n, 32):
            end = min(i + 32, n)
            writer.add([ChunkRecord("doc", "bench.txt", "s3://bench/bench.txt", j, texts[j]) for j in range(i, end)],
                       vectors[i:end])
    rate = n / (time.perf_counter() - started)
    store.drop()
    pool.close()
    return rate


# Search ------------------------------------------------------------------------------------------------------------
def load(dsn: str, texts: list[str], vectors: np.ndarray, start: int, end: int, *, m: int | None = None,
         ef_construction: int | None = None) -> float:
    """Rows start..end into the api's repository table (bulk: index dropped, COPY, index rebuilt); build seconds."""
    from psycopg import sql

    from services.rag.stores.base import ChunkRecord
    from services.rag.stores.pgvector import PgVectorStore, open_pool

    from providers.rag_store_schema import hnsw_index_name, hnsw_sql

    m, ef_construction = m or HNSW["m"], ef_construction or HNSW["ef_construction"]
    pool = open_pool(dsn, 1, 40)
    store = PgVectorStore(REPO_ID, pool, collection_id=COLLECTION)
    store.prepare(384, MODEL)
    with pool.connection() as conn:
        conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(hnsw_index_name(REPO_ID, COLLECTION))))
    with store.writer("bench") as writer:
        for i in range(start, end, 5000):
            j = min(i + 5000, end)
            writer.add([ChunkRecord(f"c{k}", "corpus", "s3://bench/corpus", k, texts[k], metadata={"tags": tags_of(k)})
                        for k in range(i, j)], vectors[i:j])
    started = time.perf_counter()
    with pool.connection() as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(hnsw_sql(REPO_ID, COLLECTION, 384, m=m, ef_construction=ef_construction))
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(store.table)))
    built = time.perf_counter() - started
    pool.close()
    return built


def tags_of(k: int) -> list[str]:
    """Chunk k's tags: t0..t9 (a tenth of the chunks each) and `rare` (one in a hundred)."""
    return [f"t{k % 10}"] + (["rare"] if k % 100 == 7 else [])


def bench_store_search(dsn: str, matrix: np.ndarray, queries: np.ndarray, chunk_queries: np.ndarray) -> dict:
    """Per ef_search: latency and recall@10 of user-like queries, and recall@10 of whole-chunk queries."""
    from services.rag.stores.pgvector import PgVectorStore, open_pool

    exact = [exact_top10(matrix, q) for q in queries]
    chunk_exact = [exact_top10(matrix, q) for q in chunk_queries]
    results = {}
    for ef in EF_SWEEP:
        pool = open_pool(dsn, 1, ef)
        store = PgVectorStore(REPO_ID, pool, collection_id=COLLECTION)
        for q in queries[:30]:
            store.search(q, 10)  # warm the cache and the prepared statement
        latencies, recalls = [], []
        for q, truth in zip(queries, exact):
            started = time.perf_counter()
            hits = store.search(q, 10)
            latencies.append((time.perf_counter() - started) * 1000)
            recalls.append(recall_at_10([h.chunk.chunk_index for h in hits], truth))
        chunk_recalls = [recall_at_10([h.chunk.chunk_index for h in store.search(q, 10)], truth)
                         for q, truth in zip(chunk_queries, chunk_exact)]
        results[ef] = {"p50": pct(latencies, 50), "p99": pct(latencies, 99), "recall": statistics.mean(recalls),
                       "chunk_recall": statistics.mean(chunk_recalls)}
        pool.close()
    results["exact"] = _pg_exact(dsn, queries[: min(len(queries), 50)])
    return results


def _pg_exact(dsn: str, queries: np.ndarray) -> dict:
    """Postgres' own exact k-NN (sequential scan), the baseline the index is measured against."""
    import psycopg
    from pgvector.psycopg import register_vector

    from psycopg import sql

    from providers.rag_store_schema import table_name

    query = sql.SQL("SELECT chunk_index FROM {} WHERE collection_id = %s ORDER BY embedding::vector(384) <=> %s "
                    "LIMIT 10").format(sql.Identifier(table_name(REPO_ID)))
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        conn.execute("SET enable_indexscan = off")
        latencies = []
        for q in queries:
            started = time.perf_counter()
            conn.execute(query, (COLLECTION, q)).fetchall()
            latencies.append((time.perf_counter() - started) * 1000)
    return {"p50": pct(latencies, 50), "p99": pct(latencies, 99)}


def model_latency(model, query_texts: list[str]) -> float:
    """p50 (ms) of the model alone embedding each query by itself."""
    latencies = []
    for text in query_texts:
        started = time.perf_counter()
        model.embed([text])
        latencies.append((time.perf_counter() - started) * 1000)
    return pct(latencies, 50)


def bench_api_search(api: str, serve: str, session: requests.Session, model, dsn: str, ef_search: int,
                     matrix: np.ndarray, query_texts: list[str]) -> dict:
    """Through the api, and for each query right after it (so all see the same machine) the model alone, the same
    embedding through serve (the call the api makes) and the store alone: what the api adds of its own is the
    per-query difference api - serve embedding - store."""
    from services.rag.stores.pgvector import PgVectorStore, open_pool

    url = f"{api}/repository/{REPO_ID}/similaritySearch"
    pool = open_pool(dsn, 1, ef_search)
    store = PgVectorStore(REPO_ID, pool, collection_id=COLLECTION)

    def serve_embed(text: str) -> None:
        session.post(f"{serve}/v2/serve/embeddings", json={"model": MODEL, "input": [text]},
                     timeout=30).raise_for_status()

    for text in query_texts[:20]:
        session.get(url, params={"query": text, "topK": 10, "modelName": MODEL}, timeout=30).raise_for_status()
        serve_embed(text)
        store.search(model.embed([text]).vectors[0], 10)
    api_ms, model_ms, serve_ms, store_ms, added, own, recalls = [], [], [], [], [], [], []
    floors: dict[str, list[float]] = {"api": [], "serve": []}  # GET /health through the same client: each app's floor
    for text in query_texts:
        for name, base in (("api", api), ("serve", serve)):
            started = time.perf_counter()
            session.get(f"{base}/health", timeout=30).raise_for_status()
            floors[name].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        response = session.get(url, params={"query": text, "topK": 10, "modelName": MODEL}, timeout=30)
        api_ms.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        started = time.perf_counter()
        serve_embed(text)
        serve_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        vector = model.embed([text]).vectors[0]
        model_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        store.search(vector, 10)
        store_ms.append((time.perf_counter() - started) * 1000)
        added.append(api_ms[-1] - model_ms[-1] - store_ms[-1])
        own.append(api_ms[-1] - serve_ms[-1] - store_ms[-1])
        found = [d["Document"]["metadata"]["chunkIndex"] for d in response.json()["docs"]]
        recalls.append(recall_at_10(found, exact_top10(matrix, vector)))
    pool.close()
    return {"p50": pct(api_ms, 50), "p99": pct(api_ms, 99), "model": pct(model_ms, 50), "serve": pct(serve_ms, 50),
            "store": pct(store_ms, 50), "added": pct(added, 50), "own": pct(own, 50), "recall": statistics.mean(recalls),
            "api_floor": pct(floors["api"], 50), "serve_floor": pct(floors["serve"], 50)}


# Retrieval quality and filters ---------------------------------------------------------------------------------------
def answer_sentence(text: str) -> str | None:
    """A sentence of the chunk a person might quote: the longest of 40-200 characters with at least six words."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text)]
    fit = [s for s in sentences if 40 <= len(s) <= 200 and len(s.split()) >= 6]
    return max(fit, key=len) if fit else None


def reworded(sentence: str) -> str:
    """The sentence as someone might rephrase it from memory, offline: stop words and every third content word gone,
    the rest in reverse order."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_-]*", sentence) if w.lower() not in STOP_WORDS]
    kept = [w for i, w in enumerate(words) if i % 3 != 2]
    return " ".join(reversed(kept))


def quality_queries(texts: list[str], size: int) -> list[tuple[int, str, str]]:
    """(answer chunk, exact sentence, reworded sentence) for QUALITY_QUERIES indexed chunks picked with a fixed seed;
    a sentence found verbatim in another indexed chunk is skipped (its answer would not be one chunk)."""
    picked: list[tuple[int, str, str]] = []
    rng = random.Random(7)
    for k in rng.sample(range(size), min(size, QUALITY_QUERIES * 3)):
        sentence = answer_sentence(texts[k])
        if sentence and len(reworded(sentence).split()) >= 3:
            picked.append((k, sentence, reworded(sentence)))
        if len(picked) == QUALITY_QUERIES:
            break
    found = dict.fromkeys((s for _, s, _ in picked), 0)
    for text in texts[:size]:
        for sentence in found:
            if sentence in text:
                found[sentence] += 1
    return [q for q in picked if found[q[1]] == 1]


def bench_quality(dsn: str, model, texts: list[str], size: int, ef_search: int) -> dict:
    """hit@10 and MRR, vector vs hybrid, for exact and reworded sentences of known chunks."""
    from services.rag.stores.pgvector import PgVectorStore, open_pool

    queries = quality_queries(texts, size)
    pool = open_pool(dsn, 1, ef_search)
    store = PgVectorStore(REPO_ID, pool, collection_id=COLLECTION)
    results: dict = {"queries": len(queries)}
    for kind, column in (("exact", 1), ("reworded", 2)):
        texts_of = [q[column] for q in queries]
        vectors = model.embed(texts_of).vectors
        for mode in ("vector", "hybrid"):
            ranks = []
            for (answer, *_), text, vector in zip(queries, texts_of, vectors):
                hits = store.search(vector, 10, text=text if mode == "hybrid" else None)
                found = [h.chunk.chunk_index for h in hits]
                ranks.append(found.index(answer) + 1 if answer in found else None)
            results[(kind, mode)] = {"hit": sum(r is not None for r in ranks) / len(ranks),
                                     "mrr": sum(1 / r for r in ranks if r) / len(ranks)}
    pool.close()
    return results


def bench_filtered(dsn: str, matrix: np.ndarray, queries: np.ndarray, ef_search: int) -> dict:
    """Filtered top-10 (a tag on a tenth of the chunks; `rare` on one in a hundred) against the exact filtered top-10."""
    from services.rag.stores.base import ChunkFilter
    from services.rag.stores.pgvector import PgVectorStore, open_pool

    pool = open_pool(dsn, 1, ef_search)
    store = PgVectorStore(REPO_ID, pool, collection_id=COLLECTION)
    indices = np.arange(len(matrix))
    results = {}
    for tag in ("t3", "rare"):
        members = np.array([k for k in indices if tag in tags_of(int(k))])
        subset = matrix[members]
        chunk_filter = ChunkFilter(tags=frozenset({tag}))
        for q in queries[:20]:
            store.search(q, 10, chunk_filter)
        latencies, recalls = [], []
        for q in queries:
            truth = members[exact_top10(subset, q)]
            started = time.perf_counter()
            hits = store.search(q, 10, chunk_filter)
            latencies.append((time.perf_counter() - started) * 1000)
            recalls.append(recall_at_10([h.chunk.chunk_index for h in hits], truth))
        results[tag] = {"share": len(members) / len(matrix), "p50": pct(latencies, 50), "p99": pct(latencies, 99),
                        "recall": statistics.mean(recalls)}
    pool.close()
    return results


def user_query(text: str, chars: int) -> str:
    """The first `chars` characters of a chunk, cut at a word: what a person would type."""
    cut = text[:chars]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


# Main --------------------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="index sizes (chunks), comma-separated")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-search", action="store_true", help="measure ingest only")
    parser.add_argument("--skip-ingest", action="store_true", help="measure search only")
    parser.add_argument("--ingest-chunks", type=int, default=INGEST_CHUNKS, help="chunks of the ingest measurement")
    from services.rag.settings import RagSettings

    defaults = RagSettings()
    parser.add_argument("--ef-search", type=int, default=defaults.hnsw_ef_search, help="hnsw.ef_search of the api")
    parser.add_argument("--m", type=int, default=defaults.hnsw_m)
    parser.add_argument("--ef-construction", type=int, default=defaults.hnsw_ef_construction)
    args = parser.parse_args()
    HNSW.update(m=args.m, ef_construction=args.ef_construction)
    sizes = sorted(int(s) for s in args.sizes.split(","))

    from services.embeddings.model import MiniLM

    print(f"RAG benchmark, {time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores", flush=True)
    texts = corpus()
    if max(sizes) + args.queries > len(texts):
        raise SystemExit(f"the corpus has {len(texts)} chunks; sizes + queries need {max(sizes) + args.queries}")
    model = MiniLM()
    matrix = embedded(texts, max(sizes), model)
    query_ids = list(range(len(texts) - args.queries, len(texts)))
    query_sets = {chars: [user_query(texts[i], chars) for i in query_ids] for chars in (60, 120)}
    query_vectors = model.embed(query_sets[60]).vectors
    chunk_vectors = model.embed([texts[i] for i in query_ids]).vectors
    model_ms = {chars: model_latency(model, queries) for chars, queries in query_sets.items()}
    tokens = np.mean([len(e.ids) for e in model.tokenizer.encode_batch(texts[:2000])])
    query_tokens = {c: np.mean([len(e.ids) for e in model.tokenizer.encode_batch(q)]) for c, q in query_sets.items()}
    print(f"corpus: {len(texts)} unique chunks of real text (≤{CHUNK_SIZE} chars, {tokens:.0f} tokens on average); "
          f"{args.queries} held-out queries of ~60 and ~120 characters ({query_tokens[60]:.0f} and "
          f"{query_tokens[120]:.0f} tokens); the model alone embeds one in {model_ms[60]:.2f} / {model_ms[120]:.2f} ms "
          f"(p50)", flush=True)

    with ExitStack() as stack:
        platform, dsn, api, serve, session = start_stack(stack, args.ef_search)
        if args.skip_ingest:  # a smoke run of the search part; the repository still takes the model as its default
            session.post(f"{api}/repository/{REPO_ID}/document", timeout=600, files={"file": ("seed.txt", b"Seed.")},
                         data={"embeddingModel": MODEL}).raise_for_status()
        ingest = None if args.skip_ingest else bench_ingest(model, texts, api, session, platform, args.ingest_chunks)
        writes = None if args.skip_ingest else bench_store_writes(dsn, matrix, texts)
        if ingest is not None:
            print("\nIngest (chunks/s)")
            print(f"  embedding model alone (in-process, 32 per call)   {ingest['model_rate']:8.1f}")
            print(f"  ingest through the api, embedding included       {ingest['ingest_rate']:8.1f}   "
                  f"= {ingest['ingest_rate'] / ingest['model_rate']:.0%} of the model ({ingest['chunks']} chunks)")
            print(f"  embedding excluded: parse + chunk                 {ingest['chunk_rate']:8.0f}")
            print(f"  embedding excluded: store writes (HNSW in place)  {writes:8.0f}")
            ratio = ingest["ingest_rate"] / ingest["model_rate"]
            print(f"  goal ingest >= 90% of the model: {'met' if ratio >= 0.9 else 'NOT met'} ({ratio:.0%})")

        loaded = 0
        for size in [] if args.skip_search else sizes:
            built = load(dsn, texts, matrix, loaded, size)
            loaded = size
            store = bench_store_search(dsn, matrix[:size], query_vectors, chunk_vectors)
            through_api = {chars: bench_api_search(api, serve, session, model, dsn, args.ef_search, matrix[:size],
                                                   queries)
                           for chars, queries in query_sets.items()}
            quality = bench_quality(dsn, model, texts, size, args.ef_search)
            filtered = bench_filtered(dsn, matrix[:size], query_vectors, args.ef_search)
            exact = store.pop("exact")
            print(f"\n{size} chunks (HNSW m={args.m}, ef_construction={args.ef_construction}; index build {built:.1f} s); "
                  f"queries of ~60 characters")
            print(f"  store, Postgres exact scan                  p50 {exact['p50']:7.2f} ms  p99 {exact['p99']:7.2f} ms  recall@10 1.000")
            for ef, r in store.items():
                mark = "  <- api" if ef == args.ef_search else ""
                print(f"  store, HNSW ef_search={ef:<4}                 p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  "
                      f"recall@10 {r['recall']:.3f} (whole-chunk queries {r['chunk_recall']:.3f})  "
                      f"{exact['p50'] / r['p50']:.0f}x faster than exact{mark}")
            for chars, r in through_api.items():
                print(f"  api similaritySearch, ~{chars:<3} char queries  p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  "
                      f"recall@10 {r['recall']:.3f}  (p50s alongside: model {r['model']:.2f}, store {r['store']:.2f}, "
                      f"added by api+gateway+HTTP {r['added']:.2f} ms)")
                budget = r["serve"] + r["store"] + 2
                print(f"    same queries: embedding through serve p50 {r['serve']:.2f} ms; the api's own share "
                      f"(api - serve embedding - store, per query) p50 {r['own']:.2f} ms; goal api p50 <= serve "
                      f"embedding p50 + store p50 + 2 = {budget:.2f} ms: {'met' if r['p50'] <= budget else 'NOT met'}")
                print(f"    each app's floor through the same client (GET /health p50): api {r['api_floor']:.2f} ms, "
                      f"serve {r['serve_floor']:.2f} ms")
            print(f"  retrieval quality, {quality['queries']} sentences of known indexed chunks (ef_search={args.ef_search})")
            for kind in ("exact", "reworded"):
                v, h = quality[(kind, "vector")], quality[(kind, "hybrid")]
                print(f"    {kind:<9} vector hit@10 {v['hit']:.3f} MRR {v['mrr']:.3f}   "
                      f"hybrid hit@10 {h['hit']:.3f} MRR {h['mrr']:.3f}")
            for tag, r in filtered.items():
                print(f"  filtered top-10, tag {tag:<5} on {r['share']:.0%} of the chunks (ef_search={args.ef_search}, "
                      f"iterative scan)  p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  recall@10 {r['recall']:.3f}")
    print(f"\nfinished {time.strftime('%H:%M')}, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
