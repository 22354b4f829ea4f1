"""Index builds: incremental by content hash, generations switched atomically, own documents ingested."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.errors import IndexCorruptError, IndexMismatchError, IndexNotBuiltError
from assistant.indexing import store as store_module
from assistant.indexing.build import build_index
from assistant.indexing.store import IndexStore, chroma_path
from assistant.retrieval import Retriever


def doc_chunk_ids(retriever: Retriever, doc_id: str) -> set[str]:
    return {p.chunk.id for p in retriever.search("anything at all", k=50) if p.chunk.doc_id == doc_id}


def all_chunks(settings: Settings) -> dict[str, str]:
    store = IndexStore.open(settings)
    got = store.collection(store.require_current().generation).get(include=["metadatas"])
    return {chunk_id: str(meta["doc_id"]) for chunk_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True)}


def test_reindexing_without_changes_embeds_nothing(private_index: Settings, embedder: Embedder) -> None:
    before = all_chunks(private_index)
    report = build_index(private_index, embedder)
    assert (report.embedded, report.reused, report.removed) == (0, len(before), 0)
    assert all_chunks(private_index) == before


def test_collections_larger_than_one_read_are_read_whole(
    private_index: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large indexes are read page by page (one get() of 100k rows exceeds SQLite's variable limit)."""
    before = all_chunks(private_index)
    monkeypatch.setattr(store_module, "READ_PAGE", 7)  # hundreds of pages, and a short last one
    report = build_index(private_index, embedder)
    assert (report.embedded, report.reused) == (0, len(before))
    retriever = Retriever.open(private_index, embedder)
    assert sorted(stored.chunk.id for stored in retriever.stored()[0]) == sorted(before)
    assert retriever.status().chunks == len(before)


def test_editing_one_document_embeds_only_its_changed_chunks(private_index: Settings, embedder: Embedder) -> None:
    before = all_chunks(private_index)
    grpc = private_index.corpus_dir / "grpc.md"
    text = grpc.read_text()
    marker = "## Latency\n\n"
    grpc.write_text(
        text.replace(marker, marker + "Proxyless gRPC latency was also measured by the zebra-team benchmark. ", 1)
    )

    report = build_index(private_index, embedder)

    after = all_chunks(private_index)
    added, removed = set(after) - set(before), set(before) - set(after)
    assert report.embedded == len(added) == 1
    assert report.removed == len(removed) == 1
    assert {after[c] for c in added} == {before[c] for c in removed} == {"grpc"}
    assert report.reused == len(after) - 1
    retriever = Retriever.open(private_index, embedder)
    assert any("zebra-team" in p.chunk.text for p in retriever.search("zebra-team benchmark of proxyless latency", k=3))


def test_removing_a_document_deletes_its_chunks(private_index: Settings, embedder: Embedder) -> None:
    before = all_chunks(private_index)
    (private_index.corpus_dir / "timeline.md").unlink()
    report = build_index(private_index, embedder)
    after = all_chunks(private_index)
    assert "timeline" not in after.values()
    assert report.embedded == 0 and report.removed == sum(1 for d in before.values() if d == "timeline")


def test_only_the_serving_generation_is_kept_on_disk(private_index: Settings, embedder: Embedder) -> None:
    for _ in range(3):
        build_index(private_index, embedder)
    store = IndexStore.open(private_index)
    serving = store.require_current().generation
    assert sorted(store.own_collections()) == [serving, f"{serving}-s"]
    owned = {str(row[0]) for row in sqlite3.connect(chroma_path(private_index) / "chroma.sqlite3").execute(
        "SELECT id FROM segments")}  # fmt: skip
    directories = {child.name for child in chroma_path(private_index).iterdir() if child.is_dir()}
    assert directories and directories <= owned  # Chroma leaves a deleted collection's directory: none is left


def test_a_search_on_a_generation_another_build_dropped_moves_to_the_new_one(
    private_index: Settings, embedder: Embedder
) -> None:
    retriever = Retriever.open(private_index, embedder)
    old = retriever.generation
    build_index(private_index, embedder)  # drops `old`, which the retriever still reads
    assert retriever.search("What is ztunnel?", k=3) and retriever.generation != old


def test_a_running_retriever_picks_up_a_new_generation(private_index: Settings, embedder: Embedder) -> None:
    retriever = Retriever.open(private_index, embedder)
    old = retriever.status().generation
    assert retriever.refresh(min_interval=0) is False
    (private_index.corpus_dir / "glossary.md").write_text(
        (private_index.corpus_dir / "glossary.md")
        .read_text()
        .replace("## ztunnel\n", "## ztunnel\n\nQuokka note.\n", 1)
    )
    assert retriever.status().stale  # corpus changed, index not yet rebuilt
    build_index(private_index, embedder)
    assert retriever.refresh(min_interval=0) is True
    assert retriever.status().generation != old and not retriever.status().stale
    assert "Quokka" in retriever.search("Quokka note", k=1)[0].chunk.text


def test_missing_index_names_the_command_that_builds_it(tmp_path: Path, embedder: Embedder) -> None:
    with pytest.raises(IndexNotBuiltError) as caught:
        Retriever.open(Settings(_env_file=None, data_dir=tmp_path / "nothing"), embedder)
    assert "assistant index" in caught.value.hint


def test_index_built_with_another_model_says_to_reindex(private_index: Settings, embedder: Embedder) -> None:
    other = Embedder(embedder.target, "some-other-model", cache_dir=private_index.models_dir)
    with pytest.raises(IndexMismatchError) as caught:
        Retriever.open(private_index, other)
    assert "all-MiniLM-L6-v2" in caught.value.message and "--rebuild" in caught.value.hint
    report = build_index(private_index, other)  # another model: nothing can be reused
    assert report.reused == 0 and report.embedded == report.chunks


def test_corrupt_index_is_reported_and_rebuild_repairs_it_without_deleting(
    private_index: Settings, embedder: Embedder
) -> None:
    database = chroma_path(private_index) / "chroma.sqlite3"
    database.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexCorruptError) as caught:
        Retriever.open(private_index, embedder)
    assert "assistant index --rebuild" in caught.value.hint

    report = build_index(private_index, embedder, rebuild=True)
    assert report.embedded == report.chunks
    assert Retriever.open(private_index, embedder).search("ztunnel", k=1)
    aside = list(chroma_path(private_index).parent.glob("chroma.damaged-*"))
    assert len(aside) == 1 and (aside[0] / "chroma.sqlite3").read_bytes().startswith(b"this is not")


def test_a_rebuild_killed_half_way_leaves_the_old_index_serving(private_index: Settings, embedder: Embedder) -> None:
    serving = Retriever.open(private_index, embedder)
    generation = serving.status().generation
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(private_index.data_dir),
        "ASSISTANT_CORPUS_DIR": str(private_index.corpus_dir),
    }
    with subprocess.Popen(
        [sys.executable, "-m", "assistant", "index", "--rebuild"], env=env, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        seen = ""
        deadline = time.monotonic() + 120
        while "Embedding" not in seen or "/" not in seen.rsplit("Embedding", 1)[-1]:  # progress has started
            assert time.monotonic() < deadline, seen
            char = process.stderr.read(1)
            assert char, f"index finished or died before it could be killed: {seen}"
            seen += char
        time.sleep(1.0)  # well inside the embedding phase of a full rebuild
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    assert serving.search("ztunnel", k=3)
    fresh = Retriever.open(private_index, embedder)
    assert fresh.status().generation == generation
    assert fresh.search("What is ztunnel?", k=3)
    report = build_index(private_index, embedder)  # the next build works and leaves no debris
    assert report.embedded == 0
