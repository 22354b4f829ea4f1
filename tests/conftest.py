"""Shared fixtures: isolated settings per test, one real model and one real index per run (shared by the
pytest-xdist workers `make test` starts)."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

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


# Under pytest-xdist (`make test`) each module goes to one worker whole (`--dist loadfile`: module fixtures such as
# a wheel's install, PostgreSQL and Redis or the fault corpus's index are built once), in this order: the longest
# first, so that no worker is left running one of them alone at the end. The rest keep their collection order.
LONGEST_FIRST = [
    "tests/test_faults.py",
    "tests/test_wheel.py",
    "tests/test_indexing.py",
    "tests/api/test_chroma_server.py",
    "tests/api/test_operations.py",
    "tests/api/test_replicas.py",
    "tests/api/test_contract.py",
    "tests/test_serving.py",
    "tests/test_evals.py",
    "tests/ui/test_browser.py",
    "tests/test_cli.py",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def _run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """Under pytest-xdist (`make test` runs `-n auto`), the folder every worker of this run shares; else None."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return None
    return tmp_path_factory.getbasetemp().parent


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export of the model for the whole run, its workers, servers and subprocesses included."""
    shared = _run_folder(tmp_path_factory)
    if shared is None:
        return tmp_path_factory.mktemp("models")
    (shared / "models").mkdir(exist_ok=True)
    return shared / "models"


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
    # one worker exports the model (torch, ~20 s) while the others wait, then load its file
    with FileLock(models_dir.parent / "models.lock"):
        return make_embedder(Settings(_env_file=None, model_cache_dir=models_dir))


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A data directory holding a real index of the real corpus, built once per run: under pytest-xdist the first
    worker builds it and every worker serves its own copy, as no data directory is shared between processes."""
    data = tmp_path_factory.mktemp("index")
    shared = _run_folder(tmp_path_factory)
    if shared is None:
        build_index(Settings(_env_file=None, data_dir=data), embedder)
        return data
    with FileLock(shared / "index.lock"):
        if not (shared / "index.built").exists():
            build_index(Settings(_env_file=None, data_dir=shared / "index"), embedder)
            (shared / "index.built").touch()
    shutil.copytree(shared / "index", data, dirs_exist_ok=True)
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
