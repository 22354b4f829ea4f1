"""Fault tests: each kind of damage to the data directory, and kill -9 at five points of a rebuild, then one
`assistant index`. Every case must end with a serving index, no generation but the serving one on disk, and the
answers of a clean build.

They run on a part of the real corpus (the ratings, the feature matrix and the documents the ratings cite), so
that the many fresh builds stay short; it still has over a thousand sentences, so Chroma writes the sentence
vectors to vector files as it does for the whole corpus. The model, Chroma and the build are the real ones.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import chromadb
import httpx
import pytest
from chromadb.config import Settings as ChromaSettings

from assistant.config import Settings
from assistant.corpus import load_ratings
from assistant.embeddings import Embedder
from assistant.errors import IndexCorruptError, IndexNotBuiltError
from assistant.indexing.build import build_index
from assistant.indexing.store import CATALOGUE, IndexStore, chroma_path
from assistant.retrieval import Retriever
from assistant.service import Service
from tests.conftest import CORPUS
from tests.live import serve

pytestmark = pytest.mark.slow

QUESTIONS = [
    "What is ztunnel?",
    "We're a bank with strict isolation needs. Which mode?",
    "Compare sidecar and ambient on security",
]
Answers = list[tuple[str, list[str]]]


@pytest.fixture(scope="module")
def fault_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ratings, the feature matrix and the corpus documents the ratings cite."""
    corpus = tmp_path_factory.mktemp("fault-corpus")
    ratings = load_ratings(CORPUS / "ratings.yaml")
    cited = {rating.source.doc for by_dimension in ratings.ratings.values() for rating in by_dimension.values()}
    cited |= {fact.source.doc for capability in ratings.capabilities.values() for fact in capability.modes.values()}
    for table in ("ratings.yaml", "features.yaml"):
        shutil.copy(CORPUS / table, corpus)
    for doc in sorted(cited):
        shutil.copy(CORPUS / f"{doc}.md", corpus)
    return corpus


@pytest.fixture(scope="module")
def clean_build(fault_corpus: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("fault-index")
    build_index(Settings(_env_file=None, data_dir=data, corpus_dir=fault_corpus), embedder)
    return data


def answers(settings: Settings, embedder: Embedder) -> Answers:
    service = Service(settings.model_copy(update={"answer_cache_size": 0}), embedder=embedder)
    return [(a.text, [c.chunk_id for c in a.citations]) for a in map(service.ask, QUESTIONS)]


@pytest.fixture(scope="module")
def clean_answers(clean_build: Path, fault_corpus: Path, embedder: Embedder) -> Answers:
    return answers(Settings(_env_file=None, data_dir=clean_build, corpus_dir=fault_corpus), embedder)


@pytest.fixture(scope="module")
def generation(clean_build: Path) -> str:
    """The serving generation of the clean build (and of every copy of it)."""
    return IndexStore.open(Settings(_env_file=None, data_dir=clean_build)).require_current().generation


@pytest.fixture
def data(clean_build: Path, fault_corpus: Path, tmp_path: Path) -> Settings:
    """Settings over a private copy of the clean build, to damage."""
    shutil.copytree(clean_build, tmp_path / "data")
    return Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=fault_corpus)


def recovered(settings: Settings, embedder: Embedder, clean_answers: Answers) -> None:
    """A serving index, only its generation's collections and vector directories on disk, a clean build's answers."""
    store = IndexStore.open(settings)
    serving = store.require_current().generation
    assert sorted(store.own_collections()) == [serving, f"{serving}-s"]
    with sqlite3.connect(chroma_path(settings) / CATALOGUE) as catalogue:
        owned = {str(row[0]) for row in catalogue.execute("SELECT id FROM segments")}
    directories = {child.name for child in chroma_path(settings).iterdir() if child.is_dir()}
    assert directories <= owned
    assert answers(settings, embedder) == clean_answers


def vector_directories(settings: Settings) -> list[Path]:
    return [child for child in chroma_path(settings).iterdir() if child.is_dir()]


def overwrite_vector_files(settings: Settings) -> None:
    for directory in vector_directories(settings):
        (directory / "data_level0.bin").write_text("x\n")


def delete_vector_directories(settings: Settings) -> None:
    for directory in vector_directories(settings):
        shutil.rmtree(directory)


def truncate_catalogue(settings: Settings) -> None:
    os.truncate(chroma_path(settings) / CATALOGUE, 4096)


def delete_catalogue(settings: Settings) -> None:
    (chroma_path(settings) / CATALOGUE).unlink()


def delete_store(settings: Settings) -> None:
    shutil.rmtree(chroma_path(settings))


def _client(settings: Settings) -> chromadb.ClientAPI:
    return chromadb.PersistentClient(
        path=str(chroma_path(settings)), settings=ChromaSettings(anonymized_telemetry=False)
    )


def _serving(client: chromadb.ClientAPI) -> str:
    return str((client.get_collection("mesh-index").metadata or {})["current"])


def delete_serving_generation(settings: Settings) -> None:
    client = _client(settings)
    client.delete_collection(_serving(client))


def damage_manifest(settings: Settings) -> None:
    client = _client(settings)
    client.get_collection(_serving(client)).modify(metadata={"chunk_count": "many"})


# damage, and whether a build must set something aside (a damaged store), not merely start afresh (a missing one)
DAMAGES: list[tuple[Callable[[Settings], None], bool]] = [
    (overwrite_vector_files, True),
    (delete_vector_directories, True),
    (truncate_catalogue, True),
    (delete_serving_generation, True),
    (damage_manifest, True),
    (delete_catalogue, False),
    (delete_store, False),
]


@pytest.mark.parametrize(("damage", "set_aside"), DAMAGES, ids=[damage.__name__ for damage, _ in DAMAGES])
def test_one_index_run_recovers_from(
    data: Settings,
    embedder: Embedder,
    clean_answers: Answers,
    caplog: pytest.LogCaptureFixture,
    generation: str,
    damage: Callable[[Settings], None],
    set_aside: bool,
) -> None:
    (data.data_dir / "chroma.damaged-20200101T000000000000").mkdir()  # set aside by an earlier recovery
    damage(data)
    with pytest.raises((IndexCorruptError, IndexNotBuiltError)):  # the damage is real: nothing can be served
        Retriever.open(data, embedder)
    with caplog.at_level(logging.WARNING, logger="assistant.indexing"):
        report = Service(data, embedder=embedder).build_index()  # what `assistant index` runs
    assert report.embedded == report.chunks  # from the corpus, never from the damaged vectors
    aside = [r.getMessage() for r in caplog.records if r.getMessage().startswith("index set aside")]
    if set_aside:
        [line] = aside
        assert generation in line or str(chroma_path(data)) in line
        [moved] = data.data_dir.glob("chroma.damaged-*")  # only the newest damaged copy is kept
        assert str(moved) in line and moved.name != "chroma.damaged-20200101T000000000000"
    else:
        assert aside == [] and (data.data_dir / "chroma.damaged-20200101T000000000000").is_dir()
    recovered(data, embedder, clean_answers)


def cli(settings: Settings, models_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("ASSISTANT_")}
    env |= {
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
        "ASSISTANT_MODEL_CACHE_DIR": str(models_dir),
    }
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_the_commands_on_overwritten_vector_files(
    data: Settings, embedder: Embedder, clean_answers: Answers, models_dir: Path
) -> None:
    """`ask` says what is wrong and what to run, without a traceback; `assistant index --rebuild` repairs it."""
    overwrite_vector_files(data)
    asked = cli(data, models_dir, sys.executable, "-m", "assistant", "ask", "What is ztunnel?")
    assert asked.returncode == 1 and "Traceback" not in asked.stderr
    assert "error: Index collection mesh-g" in asked.stderr and "hint: Rebuild it with `assistant index" in asked.stderr
    indexed = cli(data, models_dir, sys.executable, "-m", "assistant", "index", "--rebuild")
    assert indexed.returncode == 0 and "Traceback" not in indexed.stderr, indexed.stderr
    assert "index set aside: Index collection mesh-g" in indexed.stderr
    recovered(data, embedder, clean_answers)


def test_serve_with_a_damaged_index_is_not_ready_until_a_rebuild_lands(
    data: Settings, embedder: Embedder, clean_answers: Answers
) -> None:
    overwrite_vector_files(data)
    with serve(data, Service(data, embedder=embedder)) as live:
        ready = httpx.get(f"{live.url}/readyz", timeout=60)
        assert ready.status_code == 503
        error = ready.json()["error"]
        assert error["code"] == "index_corrupt" and "cannot be read" in error["message"]
        assert "assistant index" in error["hint"]
        assert httpx.post(f"{live.url}/v1/ask", json={"question": QUESTIONS[0]}, timeout=60).status_code == 503
        build_index(data, embedder)  # another process would run `assistant index`
        assert httpx.get(f"{live.url}/readyz", timeout=60).status_code == 200  # it opens the new index
        asked = httpx.post(f"{live.url}/v1/ask", json={"question": QUESTIONS[0]}, timeout=60)
        assert (asked.json()["text"], [c["chunk_id"] for c in asked.json()["citations"]]) == clean_answers[0]


# kill -9 ----------------------------------------------------------------------------------------------------
KILLER = """
import os, signal, sys
from importlib import import_module

from assistant.cli import main

owner = getattr(import_module(sys.argv[1]), sys.argv[2])
method, at = sys.argv[3], int(sys.argv[4])
original = getattr(owner, method)
calls = 0


def killing(*args, **kwargs):
    global calls
    calls += 1
    if calls == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)


setattr(owner, method, killing)
sys.argv = ["assistant", "index", "--rebuild"]
main()
"""
# where `assistant index --rebuild` is killed: before the n-th call of a method
KILL_POINTS = {
    "while_embedding": ("assistant.embeddings", "Embedder", "encode_batched", 3),
    "with_the_new_generation_empty": ("chromadb.api.models.Collection", "Collection", "add", 1),
    "with_chunks_written_but_not_sentences": ("chromadb.api.models.Collection", "Collection", "add", 2),
    "written_but_not_switched_to": ("assistant.indexing.store", "IndexStore", "switch", 1),
    "switched_but_old_generations_not_dropped": ("assistant.indexing.store", "IndexStore", "drop_generations", 1),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_rebuild_killed(
    data: Settings, embedder: Embedder, clean_answers: Answers, models_dir: Path, point: str
) -> None:
    killed = cli(data, models_dir, sys.executable, "-c", KILLER, *map(str, KILL_POINTS[point]))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    report = Service(data, embedder=embedder).build_index()  # then one `assistant index`
    assert report.chunks > 100
    recovered(data, embedder, clean_answers)
