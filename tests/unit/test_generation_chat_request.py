"""What the local chat server accepts, refuses and passes to llama.cpp."""

import pytest

from services.generation.chat_request import RequestError, parse_chat_request
from services.generation.chat_template import ChatMessage
from services.generation.model import DEFAULT_TEMPERATURE, DEFAULT_TOP_P, as_request_error, llama_request

CAP = 512


def parse(**body):
    return parse_chat_request({"model": "m", "messages": [{"role": "user", "content": "hi"}], **body},
                              max_output_tokens=CAP)


def refused(body) -> RequestError:
    with pytest.raises(RequestError) as info:
        parse_chat_request(body, max_output_tokens=CAP)
    assert info.value.status == 400
    return info.value


def test_a_plain_request_takes_the_defaults():
    request = parse()
    assert request.messages == [ChatMessage("user", "hi")]
    assert (request.stream, request.include_usage, request.max_tokens, request.stop) == (False, False, CAP, [])


def test_max_tokens_is_capped_and_max_completion_tokens_wins():
    assert parse(max_tokens=10_000).max_tokens == CAP
    assert parse(max_tokens=7, max_completion_tokens=5).max_tokens == 5


def test_usage_in_a_stream_only_when_asked():
    assert parse(stream=True, stream_options={"include_usage": True}).include_usage
    assert not parse(stream=True).include_usage
    assert not parse(stream=False, stream_options={"include_usage": True}).include_usage


def test_a_single_stop_string_becomes_a_list():
    assert parse(stop="END").stop == ["END"]
    assert parse(stop=["a", "b"]).stop == ["a", "b"]


def test_text_parts_are_joined_and_developer_is_system():
    request = parse(messages=[{"role": "developer", "content": "rules"},
                              {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                              {"role": "assistant", "content": None, "tool_calls": []}])
    assert request.messages == [ChatMessage("system", "rules"), ChatMessage("user", "a\nb"), ChatMessage("assistant", "")]


def test_tools_may_be_offered_but_not_forced():
    assert parse(tools=[{"type": "function", "function": {"name": "f"}}], tool_choice="auto").messages
    error = refused({"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"})
    assert error.param == "tool_choice"


@pytest.mark.parametrize("body, param", [
    ({"messages": []}, "messages"),
    ({}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     "messages[0].content[0]"),
    ({"messages": [{"role": "user", "content": "x"}], "temperature": 2.5}, "temperature"),
    ({"messages": [{"role": "user", "content": "x"}], "top_p": -0.1}, "top_p"),
    ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
    ({"messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"messages": [{"role": "user", "content": "x"}], "stop": [""]}, "stop"),
    ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
    ({"messages": [{"role": "user", "content": "x"}], "logprobs": True}, "logprobs"),
    ({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}, "response_format"),
    ({"messages": [{"role": "user", "content": "x"}], "presence_penalty": 3}, "presence_penalty"),
])
def test_what_it_cannot_do_is_a_400_naming_the_field(body, param):
    assert refused(body).param == param


def test_a_body_that_is_not_an_object_is_a_400():
    assert refused([1, 2]).param is None


def test_only_validated_options_reach_llama_cpp():
    request = parse_chat_request({"messages": [{"role": "user", "content": "x"}], "max_tokens": 9, "stop": "S",
                                  "seed": 4, "presence_penalty": 0.5, "n_probs": 10, "grammar": "root ::= x",
                                  "slot_id": 0, "cache_prompt": False}, max_output_tokens=CAP)
    body = llama_request("PROMPT", request)
    assert body == {"prompt": "PROMPT", "stream": True, "max_tokens": 9, "stop": ["S"], "seed": 4,
                    "presence_penalty": 0.5, "temperature": DEFAULT_TEMPERATURE, "top_p": DEFAULT_TOP_P}


def test_explicit_sampling_overrides_the_models_defaults():
    body = llama_request("P", parse(temperature=0, top_p=1))
    assert (body["temperature"], body["top_p"]) == (0, 1)


def test_a_prompt_past_the_context_is_a_400_context_length_exceeded():
    error = as_request_error({"code": 400, "type": "exceed_context_size_error", "message": "...",
                              "n_prompt_tokens": 5000, "n_ctx": 4096})
    assert (error.status, error.code, error.param) == (400, "context_length_exceeded", "messages")
    assert "5000" in error.message and "4096" in error.message


def test_other_llama_errors_keep_client_or_server_blame():
    assert as_request_error({"code": 400, "message": "bad"}).status == 400
    assert as_request_error({"code": 500, "message": "boom"}).status == 500
