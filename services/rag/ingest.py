"""Ingest: a document's chunks embedded through the gateway and written to its repository's store, as a background
job per document (a thread pool in the api process). Progress and the outcome are written to the document record.

A job writes all its chunks through one store writer, so a failure (or a delete of the document meanwhile) leaves
none of them behind. While jobs run, a heartbeat thread stamps their records; a job stopped by a shutdown or a
crash leaves its record unfinished with a heartbeat that ages, and RagService.resume (run periodically by the api)
restarts it from the stored original in whichever api process claims it first.
"""

from __future__ import annotations

import logging
import threading
from contextlib import closing
from concurrent.futures import Future, ThreadPoolExecutor

from core.errors import LisaError
from services.rag.chunking import Chunk
from services.rag.documents import DocumentRecord, DocumentTable, IngestionStatus, Throttle
from services.rag.gateway import Gateway
from services.rag.stores.base import ChunkRecord, VectorStore

log = logging.getLogger("lisa.rag.ingest")


class _Stopped(Exception):
    """The document was deleted or the process is stopping: end without a status."""


def chunk_records(record: DocumentRecord, chunks: list[Chunk]) -> list[ChunkRecord]:
    return [ChunkRecord(document_id=record.document_id, document_name=record.document_name, source=record.source,
                        chunk_index=c.index, text=c.text, page=c.page, metadata=record.metadata) for c in chunks]


class IngestJobs:
    def __init__(self, table: DocumentTable, gateway: Gateway, *, workers: int = 2, batch: int = 32, concurrency: int = 2, progress_interval_s: float = 1.0,
                 heartbeat_s: float = 10.0) -> None:
        self.table = table
        self.gateway = gateway
        self.batch = batch
        self.concurrency = concurrency
        self.progress_interval_s = progress_interval_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
        self._running: dict[str, tuple[Future, threading.Event]] = {}
        self._records: dict[str, DocumentRecord] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._beat = threading.Thread(target=self._heartbeats, args=(heartbeat_s,), name="ingest-heartbeat", daemon=True)
        self._beat.start()

    def _heartbeats(self, interval_s: float) -> None:
        while not self._closing.wait(interval_s):
            with self._lock:
                records = list(self._records.values())
            for record in records:
                try:
                    self.table.heartbeat(record)
                except Exception:  # noqa: BLE001 (a missed beat only makes the job look older)
                    log.warning("could not write the heartbeat of %s", record.document_id)

    def running(self, document_id: str) -> bool:
        with self._lock:
            return document_id in self._running

    def submit(self, store: VectorStore, record: DocumentRecord, chunks: list[Chunk]) -> Future:
        stop = threading.Event()
        future = self._pool.submit(self._run, store, record, chunks, stop)
        with self._lock:
            self._running[record.document_id] = (future, stop)
            self._records[record.document_id] = record
        future.add_done_callback(lambda _: self._forget(record.document_id, future))
        return future

    def _forget(self, document_id: str, future: Future) -> None:
        with self._lock:
            if self._running.get(document_id, (None,))[0] is future:
                del self._running[document_id]
                self._records.pop(document_id, None)

    def stop(self, document_id: str, timeout_s: float = 60.0) -> None:
        """Stop the document's job, if one runs here, and wait until it has rolled back."""
        with self._lock:
            running = self._running.get(document_id)
        if running:
            running[1].set()
            try:
                running[0].result(timeout=timeout_s)
            except Exception:  # noqa: BLE001 (its outcome no longer matters)
                pass

    def wait(self, document_id: str, timeout_s: float) -> None:
        with self._lock:
            running = self._running.get(document_id)
        if running:
            running[0].result(timeout=timeout_s)

    def shutdown(self) -> None:
        self._closing.set()
        with self._lock:
            running = list(self._running.values())
        for _, stop in running:
            stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, store: VectorStore, record: DocumentRecord, chunks: list[Chunk], stop: threading.Event) -> None:
        try:
            self._ingest(store, record, chunks, stop)
        except _Stopped:
            log.info("ingest of %s/%s stopped", record.repository_id, record.document_id)
        except LisaError as exc:
            self.table.update(record, status=IngestionStatus.FAILED, error=exc.message)
        except Exception as exc:  # noqa: BLE001 (recorded on the document; the job must not die silently)
            log.exception("ingest of %s/%s failed", record.repository_id, record.document_id)
            self.table.update(record, status=IngestionStatus.FAILED, error=f"ingest failed ({type(exc).__name__})")

    def _ingest(self, store: VectorStore, record: DocumentRecord, chunks: list[Chunk], stop: threading.Event) -> None:
        if stop.is_set() or not self.table.update(record, status=IngestionStatus.IN_PROGRESS, chunks_embedded=0):
            raise _Stopped
        store.delete_document(record.document_id)  # a resumed job may find what an interrupted one left
        records = chunk_records(record, chunks)
        batches = [records[i:i + self.batch] for i in range(0, len(records), self.batch)]
        texts = ([c.text for c in batch] for batch in batches)
        progress = Throttle(self.progress_interval_s)
        done = 0
        vectors_of = self.gateway.embed_batches(record.embedding_model, texts, self.concurrency)
        with closing(vectors_of), store.writer(record.document_id) as writer:
            for batch, vectors in zip(batches, vectors_of):
                if stop.is_set():
                    raise _Stopped
                writer.add(batch, vectors)
                done += len(batch)
                if progress() and not self.table.update(record, status=IngestionStatus.IN_PROGRESS, chunks_embedded=done):
                    raise _Stopped
        if not self.table.update(record, status=IngestionStatus.COMPLETED, chunks_embedded=done):
            store.delete_document(record.document_id)  # deleted in the last moment: leave nothing behind
