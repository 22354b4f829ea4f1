"""Shared fixtures: isolated settings per test, one real model and one real index per session."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # the suite never reaches a model hub
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from assistant.config import PROJECT_ROOT, Settings, get_settings
from assistant.embeddings import Embedder, make_embedder
from assistant.indexing.build import build_index
from assistant.responder import llm
from assistant.retrieval import Retriever
from assistant.service import Service
from assistant.understanding import kinds
from assistant.understanding.kind_fitting import FittedWeights
from tests.live import LiveServer, serve

CORPUS = PROJECT_ROOT / "corpus"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export of the model for the whole session, its servers and subprocesses included."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own data directory and no ambient configuration (the model export is shared)."""
    for name in list(os.environ):
        if name.startswith("ASSISTANT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE_DIR", str(models_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def responder_models_once() -> Iterator[None]:
    """A Responder embeds its ~1,500 labelled examples and phrasings and fits the kind model in a child process
    when it is built: 10-15 s on a 2-core CPU, which the many tests that build a Service of their own (a private
    index, a chat model, an answer cache) paid again and again for the same vectors and weights.

    Both steps are deterministic, so within a session their results are kept by what determines them: the model
    (folder, id and engine) and the exact texts for the vectors, the exact features and labels for the weights.
    The first Responder of a session runs both for real; any other input (another model, other phrasings, the
    test that compares the child's fit with scikit-learn's) is computed afresh. Processes the tests start (servers,
    the CLI) are not affected.
    """
    vectors: dict[tuple[str, str, str, str], np.ndarray] = {}
    weights: dict[str, FittedWeights] = {}
    embed_many, fit_weights = Retriever.embed_many, kinds.fit_weights

    def kept_vectors(self: Retriever, texts: Sequence[str]) -> np.ndarray:
        model = self.embedder
        key = (model.target, model.model_id, model.engine, _digest("\0".join(texts)))
        if key not in vectors:
            vectors[key] = embed_many(self, texts)
        return vectors[key].copy()

    def kept_weights(features: np.ndarray, labels: list[str]) -> FittedWeights:
        key = _digest(f"{features.dtype}{features.shape}", features.tobytes(), "\0".join(labels))
        if key not in weights:
            weights[key] = fit_weights(features, labels)
        fitted = weights[key]
        return FittedWeights(list(fitted.labels), fitted.weights.copy(), fitted.intercept.copy())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Retriever, "embed_many", kept_vectors)
        patch.setattr(kinds, "fit_weights", kept_weights)
        yield


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
    return digest.hexdigest()


@pytest.fixture(scope="session")
def embedder(models_dir: Path) -> Embedder:
    return make_embedder(Settings(_env_file=None, model_cache_dir=models_dir))


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A data directory holding a real index of the real corpus, built once per session."""
    data = tmp_path_factory.mktemp("index")
    build_index(Settings(_env_file=None, data_dir=data), embedder)
    return data


@pytest.fixture(scope="session")
def retriever(built_index: Path, embedder: Embedder) -> Retriever:
    return Retriever.open(Settings(_env_file=None, data_dir=built_index), embedder)


@pytest.fixture
def private_index(built_index: Path, tmp_path: Path) -> Settings:
    """Settings with a private copy of the corpus and of the session index, safe to modify."""
    data, corpus = tmp_path / "private-data", tmp_path / "corpus"
    shutil.copytree(built_index, data)
    shutil.copytree(CORPUS, corpus)
    return Settings(_env_file=None, data_dir=data, corpus_dir=corpus)


@pytest.fixture(scope="session")
def service(built_index: Path, embedder: Embedder) -> Service:
    """The facade over the session index, with the real model (no chat model) and no answer cache, so every
    test's question is really answered (tests/test_answer_cache.py covers the cache)."""
    return Service(Settings(_env_file=None, data_dir=built_index, answer_cache_size=0), embedder=embedder)


@pytest.fixture(autouse=True)
def no_real_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to build a real chat model fails; tests use LangChain's fake chat models instead."""
    monkeypatch.setattr(llm, "ALLOW_MODEL_REQUESTS", False)


@pytest.fixture(scope="session")
def live_api(built_index: Path, service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The API over the session index (no keys, generous rate limit), shared by the end-to-end tests."""
    settings = Settings(_env_file=None, data_dir=built_index, rate_limit_per_minute=100_000)
    with serve(settings, service) as live:
        yield live
