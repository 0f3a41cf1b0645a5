"""The local MiniLM model: pinned files, vectors' shape and meaning, and the request rules of its server."""

import numpy as np
import pytest

from services.embeddings.model import MODEL_SHA256, ModelFileError, default_model_path, mean_pool_normalise, sha256_of, verify
from services.embeddings.server import RequestError, parse_request
from services.embeddings.settings import EmbeddingServerSettings


def test_the_shipped_model_is_the_pinned_one():
    assert sha256_of(default_model_path()) == MODEL_SHA256


def test_a_changed_model_file_is_refused(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(ModelFileError, match="refusing"):
        verify(fake, MODEL_SHA256)


def test_vectors_are_384_dimensional_and_unit_length(minilm):
    vectors = minilm.embed(["one sentence", "another, longer sentence about something else"]).vectors
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_related_sentences_are_closer_than_unrelated_ones(minilm):
    a, b, c = minilm.embed(["A cat sits on the mat.", "A kitten is resting on a rug.", "Stock markets fell sharply."]).vectors
    assert a @ b > a @ c + 0.3


def test_a_text_embeds_the_same_alone_and_in_a_padded_batch(minilm):
    alone = minilm.embed(["short"]).vectors[0]
    batched = minilm.embed(["short", "a much longer sentence that forces padding of the short one " * 3]).vectors[0]
    assert float(alone @ batched) > 0.99999


def test_inputs_past_256_tokens_are_truncated_not_refused(minilm):
    result = minilm.embed(["word " * 2000])
    assert result.tokens == 256


def test_mean_pooling_ignores_padding():
    hidden = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    assert np.allclose(mean_pool_normalise(hidden, mask), [[1.0, 0.0]])


SETTINGS = EmbeddingServerSettings(max_inputs=3, max_input_chars=10)


@pytest.mark.parametrize("body, message", [
    ([], "JSON object"), ({"input": []}, "non-empty"), ({"input": 3}, "non-empty"), ({"input": [[1, 2]]}, "token"),
    ({"input": ["a"] * 4}, "at most 3"), ({"input": ["x" * 11]}, "longer than 10"),
    ({"input": "a", "encoding_format": "hex"}, "encoding_format"), ({"input": "a", "dimensions": 128}, "384"),
])
def test_bad_requests_say_what_is_wrong(body, message):
    with pytest.raises(RequestError, match=message) as caught:
        parse_request(body, SETTINGS)
    assert caught.value.status == 400


def test_a_string_input_is_one_input():
    assert parse_request({"input": "hello", "model": "anything"}, SETTINGS) == (["hello"], "float")


@pytest.mark.parametrize(("setting", "expected"), [("false", "0"), ("true", "1")])
def test_the_model_threads_busy_wait_only_when_asked(monkeypatch, setting, expected):
    from services.embeddings.model import MiniLM

    monkeypatch.setenv("LISA_EMBEDDINGS_SPIN", setting)
    settings = EmbeddingServerSettings()
    model = MiniLM(threads=1, spin=settings.spin)
    assert model.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == expected
