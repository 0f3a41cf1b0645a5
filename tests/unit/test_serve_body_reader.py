"""Serve's request body reader (`_read_body`) against a fake ASGI `receive`: a body in many small chunks comes back
byte for byte, and a body past the limit is refused with a 413 as soon as it passes it, without reading the rest."""

from __future__ import annotations

import asyncio
import os

import pytest

from services.serve.app import ClientGone, _read_body
from services.serve.openai_errors import OpenAIError


class ChunkedReceive:
    """`receive` for a body sent as `chunks` (then, if asked, a disconnect); counts the messages read."""

    def __init__(self, chunks: list[bytes], *, then_disconnect: bool = False) -> None:
        self.messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1 or then_disconnect}
                         for i, c in enumerate(chunks)]
        if then_disconnect:
            self.messages.append({"type": "http.disconnect"})
        self.read = 0

    async def __call__(self) -> dict:
        message = self.messages[self.read]
        self.read += 1
        return message


def test_a_body_in_20000_small_chunks_is_returned_byte_for_byte():
    body = os.urandom(20_000 * 7)
    chunks = [body[i:i + 7] for i in range(0, len(body), 7)]
    receive = ChunkedReceive(chunks)
    assert asyncio.run(_read_body(receive, limit=1 << 20)) == body
    assert receive.read == 20_000


def test_empty_chunks_between_parts_add_nothing():
    receive = ChunkedReceive([b"", b'{"a":', b"", b"1}", b""])
    assert asyncio.run(_read_body(receive, limit=100)) == b'{"a":1}'


def test_a_body_of_exactly_the_limit_is_read():
    receive = ChunkedReceive([b"x" * 10] * 10)
    assert asyncio.run(_read_body(receive, limit=100)) == b"x" * 100


def test_a_chunked_body_past_the_limit_is_a_413_without_reading_the_rest():
    limit = 1 << 20
    receive = ChunkedReceive([b"y" * 1000] * 20_000)  # about 19 MiB in all
    with pytest.raises(OpenAIError) as refused:
        asyncio.run(_read_body(receive, limit=limit))
    assert refused.value.status == 413 and refused.value.code == "request_too_large"
    assert receive.read == limit // 1000 + 1  # stopped at the chunk that passed the limit


def test_a_single_message_past_the_limit_is_a_413():
    receive = ChunkedReceive([b"z" * 101, b"more"])
    with pytest.raises(OpenAIError) as refused:
        asyncio.run(_read_body(receive, limit=100))
    assert refused.value.status == 413 and receive.read == 1


def test_a_client_that_leaves_mid_body_is_gone():
    with pytest.raises(ClientGone):
        asyncio.run(_read_body(ChunkedReceive([b"a", b"b"], then_disconnect=True), limit=100))
