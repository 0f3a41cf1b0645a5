"""The local embedding server as a real process, driven by openai-python and raw HTTP."""

import base64

import numpy as np
import openai
import pytest
import requests

from tests.fixtures.rag import run_embedding_server


@pytest.fixture(scope="module")
def client(embedding_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{embedding_server}/v1", api_key="unused", max_retries=0)


def test_openai_python_gets_the_models_vectors(client, minilm):
    texts = ["The quick brown fox", "jumps over the lazy dog"]
    result = client.embeddings.create(model="all-minilm-l6-v2", input=texts)  # openai-python asks for base64
    got = np.array([d.embedding for d in result.data], dtype=np.float32)
    assert np.allclose(got, minilm.embed(texts).vectors, atol=1e-6)
    assert result.usage.prompt_tokens == minilm.embed(texts).tokens


def test_float_encoding_gives_json_numbers(embedding_server, minilm):
    body = requests.post(f"{embedding_server}/v1/embeddings", json={"input": "hello", "encoding_format": "float"},
                         timeout=10).json()
    assert body["object"] == "list" and body["data"][0]["index"] == 0
    assert np.allclose(body["data"][0]["embedding"], minilm.embed(["hello"]).vectors[0], atol=1e-6)


def test_base64_is_little_endian_float32(embedding_server, minilm):
    body = requests.post(f"{embedding_server}/embeddings", json={"input": ["hello"], "encoding_format": "base64"},
                         timeout=10).json()
    decoded = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, minilm.embed(["hello"]).vectors[0], atol=1e-7)


def test_output_order_matches_input_order(embedding_server, minilm):
    texts = ["a much longer input text that sorts after the others by length", "b", "medium sized input"]
    body = requests.post(f"{embedding_server}/v1/embeddings", json={"input": texts}, timeout=10).json()
    got = np.array([d["embedding"] for d in sorted(body["data"], key=lambda d: d["index"])], dtype=np.float32)
    assert np.allclose(got, minilm.embed(texts).vectors, atol=1e-6)


def test_models_lists_the_served_model(client):
    assert [m.id for m in client.models.list().data] == ["all-minilm-l6-v2"]


def test_errors_are_openai_error_objects(embedding_server):
    response = requests.post(f"{embedding_server}/v1/embeddings", json={"input": []}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error" and response.json()["error"]["param"] == "input"


def test_a_body_that_is_not_json_is_a_400(embedding_server):
    response = requests.post(f"{embedding_server}/v1/embeddings", data=b"{nope", timeout=10)
    assert response.status_code == 400 and "JSON" in response.json()["error"]["message"]


def test_with_an_api_key_set_requests_without_it_are_refused(test_output):
    with run_embedding_server(test_output / "embedding-server-keyed.log", api_key="sk-local-embeddings") as base:
        refused = requests.post(f"{base}/v1/embeddings", json={"input": "x"}, timeout=10)
        accepted = requests.post(f"{base}/v1/embeddings", json={"input": "x"}, timeout=10,
                                 headers={"authorization": "Bearer sk-local-embeddings"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    assert accepted.status_code == 200


def test_teis_native_embed_route_answers_like_tei(embedding_server, minilm):
    response = requests.post(f"{embedding_server}/embed", json={"inputs": ["hello", "world"]}, timeout=10)
    assert response.status_code == 200
    assert np.allclose(np.array(response.json(), dtype=np.float32), minilm.embed(["hello", "world"]).vectors, atol=1e-6)


def test_teis_info_route_names_the_model(embedding_server):
    assert requests.get(f"{embedding_server}/info", timeout=10).json()["max_input_length"] == 256
