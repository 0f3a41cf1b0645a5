"""OpenAI-exact chat chunks from a provider's stream (the LiteLLM path)."""

from __future__ import annotations

from services.serve.streaming import ChatChunkNormalizer, sse, sse_error


def _chunk(content=None, finish=None, role=None, usage=None, cid="c1", index=0):
    delta = {k: v for k, v in {"role": role, "content": content}.items() if v is not None}
    chunk = {"id": cid, "object": "chat.completion.chunk", "created": 1, "model": "upstream-name",
             "choices": [{"index": index, "delta": delta, "finish_reason": finish}], "provider_specific_fields": {}}
    if usage:
        chunk["usage"] = usage
    return chunk


def _run(chunks, include_usage=False):
    normalizer = ChatChunkNormalizer("client-name", include_usage)
    out = [c for chunk in chunks for c in normalizer.feed(chunk)]
    return out + normalizer.finish()


def test_first_delta_carries_the_role_even_if_the_provider_omits_it():
    out = _run([_chunk("Hel"), _chunk("lo")])
    assert out[0]["choices"][0]["delta"] == {"role": "assistant", "content": "Hel"}
    assert "role" not in out[1]["choices"][0]["delta"]


def test_finish_reason_appears_once_on_the_last_choice_chunk():
    out = _run([_chunk("a", role="assistant"), _chunk("b", finish="length"), _chunk(finish="length")])
    reasons = [c["choices"][0]["finish_reason"] for c in out]
    assert reasons == [None, None, "length"] and out[-1]["choices"][0]["delta"] == {}


def test_missing_finish_reason_becomes_stop():
    assert _run([_chunk("a")])[-1]["choices"][0]["finish_reason"] == "stop"


def test_include_usage_ends_with_a_usage_chunk_with_empty_choices():
    out = _run([_chunk("a", usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4, "extra": 1}),
                _chunk(finish="stop")], include_usage=True)
    assert out[-1]["choices"] == [] and out[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert all("usage" not in c for c in out[:-1])


def test_without_include_usage_no_chunk_has_usage():
    out = _run([_chunk("a", usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})])
    assert all("usage" not in c for c in out)


def test_one_id_model_and_object_for_the_whole_stream_and_no_provider_fields():
    out = _run([_chunk("a", cid="x1"), _chunk("b", cid="x2")], include_usage=True)
    assert {c["id"] for c in out} == {"x1"} and {c["model"] for c in out} == {"client-name"}
    assert all(set(c) <= {"id", "object", "created", "model", "choices", "usage"} for c in out)


def test_sse_framing():
    assert sse({"a": 1}) == b'data: {"a":1}\n\n'
    assert sse_error("broken").startswith(b'data: {"error":{"message":"broken"')
