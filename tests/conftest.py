"""Shared fixtures: isolated settings per test, one real model and one real index per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # the suite never reaches a model hub
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from assistant.config import PROJECT_ROOT, Settings, get_settings
from assistant.embeddings import Embedder, make_embedder
from assistant.indexing.build import build_index
from assistant.responder import llm
from assistant.retrieval import Retriever
from assistant.service import Service
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
