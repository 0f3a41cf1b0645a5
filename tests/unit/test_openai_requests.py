"""The allow-lists and OpenAI ranges of inference request bodies (core/openai_requests.py)."""

from __future__ import annotations

import pytest

from core.errors import InvalidInputError
from core.openai_requests import CHAT, COMPLETIONS, EMBEDDINGS, check_request

CHAT_BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def refused(endpoint: str, body: dict) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        check_request(endpoint, body)
    return caught.value


def test_a_plain_chat_body_passes():
    check_request(CHAT, CHAT_BODY)


def test_null_means_not_set():
    check_request(CHAT, {**CHAT_BODY, "temperature": None, "stop": None, "tools": None})


@pytest.mark.parametrize("field", ["api_base", "base_url", "aws_bedrock_runtime_endpoint", "api_key", "metadata",
                                   "extra_headers", "mock_response", "custom_llm_provider"])
def test_fields_litellm_would_read_as_params_are_refused(field):
    error = refused(CHAT, {**CHAT_BODY, field: "x"})
    assert error.param == field and error.code == "unknown_parameter" and field in error.message


def test_each_endpoint_has_its_own_list():
    check_request(COMPLETIONS, {"model": "m", "prompt": "p", "echo": True, "best_of": 2})
    assert refused(CHAT, {**CHAT_BODY, "echo": True}).param == "echo"
    assert refused(EMBEDDINGS, {"model": "m", "input": "a", "temperature": 1}).param == "temperature"


@pytest.mark.parametrize(("field", "value"), [("temperature", 2.01), ("top_p", -0.01), ("n", 0), ("max_tokens", 0),
                                              ("presence_penalty", -2.5), ("top_logprobs", 21), ("seed", True),
                                              ("temperature", float("nan"))])
def test_out_of_range_values_name_the_field(field, value):
    assert refused(CHAT, {**CHAT_BODY, field: value, "logprobs": True}).param == field


@pytest.mark.parametrize(("field", "value"), [("temperature", 0), ("temperature", 2), ("top_p", 1), ("n", 1),
                                              ("max_tokens", 1), ("presence_penalty", -2), ("stop", ["a"] * 4)])
def test_range_ends_are_accepted(field, value):
    check_request(CHAT, {**CHAT_BODY, field: value})


def test_top_logprobs_needs_logprobs():
    assert refused(CHAT, {**CHAT_BODY, "top_logprobs": 2}).param == "top_logprobs"
    check_request(CHAT, {**CHAT_BODY, "top_logprobs": 2, "logprobs": True})


def test_stream_options_only_with_stream():
    assert refused(CHAT, {**CHAT_BODY, "stream_options": {"include_usage": True}}).param == "stream_options"
    check_request(CHAT, {**CHAT_BODY, "stream": True, "stream_options": {"include_usage": True}})
    assert refused(CHAT, {**CHAT_BODY, "stream": True, "stream_options": {"x": 1}}).param == "stream_options.x"


def test_messages_are_checked_key_by_key():
    assert refused(CHAT, {"model": "m", "messages": []}).param == "messages"
    assert refused(CHAT, {"model": "m", "messages": [{"role": "robot"}]}).param == "messages[0].role"
    assert refused(CHAT, {"model": "m", "messages": [{"role": "user", "base_url": "x"}]}).param == "messages[0].base_url"
    tool_turn = [{"role": "assistant", "content": None, "tool_calls": [{"id": "1", "type": "function",
                                                                       "function": {"name": "f", "arguments": "{}"}}]},
                 {"role": "tool", "tool_call_id": "1", "content": "42"}]
    check_request(CHAT, {"model": "m", "messages": [{"role": "user", "content": "q"}, *tool_turn]})


def test_missing_required_fields():
    assert refused(CHAT, {"messages": CHAT_BODY["messages"]}).code == "missing_model"
    assert refused(EMBEDDINGS, {"model": "m"}).param == "input"


@pytest.mark.parametrize("value", ["", [], ["a", ""], ["a", 1], [[1, 2], "a"], [[]]])
def test_bad_embedding_inputs(value):
    assert refused(EMBEDDINGS, {"model": "m", "input": value}).param == "input"


@pytest.mark.parametrize("value", ["a", ["a", "b"], [1, 2, 3], [[1, 2], [3]]])
def test_good_embedding_inputs(value):
    check_request(EMBEDDINGS, {"model": "m", "input": value})


def test_embeddings_cannot_stream():
    assert refused(EMBEDDINGS, {"model": "m", "input": "a", "stream": True}).param == "stream"


@pytest.mark.parametrize(("field", "value", "param"), [
    ("reasoning_effort", [], "reasoning_effort"), ("service_tier", {"a": 1}, "service_tier"),
    ("tool_choice", ["auto"], "tool_choice"), ("response_format", {"type": ["text"]}, "response_format.type"),
    ("messages", [{"role": ["user"], "content": "hi"}], "messages[0].role"), ("modalities", [["text"]], "modalities")])
def test_an_array_or_object_where_a_choice_belongs_is_refused_not_a_crash(field, value, param):
    # A membership test on a frozenset raised TypeError (unhashable) for these: serve answered 500.
    assert refused(CHAT, {**CHAT_BODY, field: value}).param == param


def test_every_allow_listed_field_has_a_fuzz_strategy():
    from tests.fixtures.openai_strategies import strategy_gaps

    assert strategy_gaps() == []
