"""The pass-through stream's usage handling (services/serve/inference.py): metered, and stripped unless asked for."""

from __future__ import annotations

import asyncio

import orjson

from services.serve.inference import PassthroughStream, Usage


class FakeResponse:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    async def iter_chunks(self):
        for chunk in self.chunks:
            yield chunk

    def close(self) -> None:
        self.closed = True


def event(data: dict) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


CONTENT = event({"id": "c", "choices": [{"index": 0, "delta": {"content": "hi"}}], "usage": None})
USAGE = event({"id": "c", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}})
DONE = b"data: [DONE]\n\n"


def run(chunks: list[bytes], *, strip: bool) -> tuple[bytes, PassthroughStream]:
    stream = PassthroughStream(FakeResponse(chunks), strip_usage=strip)

    async def collect() -> bytes:
        return b"".join([c async for c in stream])

    return asyncio.run(collect()), stream


def test_usage_is_read_and_the_chunk_dropped_when_the_client_did_not_ask():
    out, stream = run([CONTENT, USAGE + DONE], strip=True)
    assert out == CONTENT + DONE
    assert stream.usage == Usage(3, 5) and stream.response.closed


def test_usage_chunk_is_kept_when_the_client_asked():
    out, stream = run([CONTENT, USAGE, DONE], strip=False)
    assert out == CONTENT + USAGE + DONE and stream.usage == Usage(3, 5)


def test_events_split_across_chunks_are_reassembled():
    whole = CONTENT + USAGE + DONE
    pieces = [whole[i:i + 7] for i in range(0, len(whole), 7)]
    out, stream = run(pieces, strip=True)
    assert out == CONTENT + DONE and stream.usage == Usage(3, 5)


def test_usage_on_a_content_chunk_is_nulled_not_dropped():
    both = event({"id": "c", "choices": [{"index": 0, "delta": {"content": "x"}}],
                  "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    out, stream = run([both, DONE], strip=True)
    assert orjson.loads(out.split(b"\n\n")[0][6:])["usage"] is None and b"x" in out and stream.usage == Usage(1, 1)


def test_a_stream_without_usage_passes_byte_for_byte():
    out, stream = run([CONTENT, CONTENT, DONE], strip=True)
    assert out == CONTENT + CONTENT + DONE and stream.usage is None


def test_crlf_delimited_events_are_not_held_back():
    crlf = CONTENT.replace(b"\n\n", b"\r\n\r\n")
    out, _ = run([crlf[:10], crlf[10:] + crlf, DONE], strip=True)
    assert out == crlf + crlf + DONE


def test_metrics_expose_counts_and_cumulative_buckets():
    from services.serve.metrics import ServeMetrics

    metrics = ServeMetrics()
    metrics.requests[("chat/completions", 200)] += 3
    for seconds in (0.003, 0.02, 400):
        metrics.observe_latency("chat/completions", seconds)
    text = metrics.exposition().decode()
    assert 'lisa_serve_requests_total{route="chat/completions",status="200"} 3.0' in text
    assert 'lisa_serve_request_duration_seconds_bucket{le="0.005",route="chat/completions"} 1.0' in text
    assert 'lisa_serve_request_duration_seconds_bucket{le="0.025",route="chat/completions"} 2.0' in text
    assert 'lisa_serve_request_duration_seconds_bucket{le="+Inf",route="chat/completions"} 3.0' in text
    assert "lisa_serve_active_streams 0.0" in text
