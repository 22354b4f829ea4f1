"""Hybrid search on a real index of the real corpus, with the real model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant import retrieval
from assistant.config import Settings
from assistant.domain.vocabulary import Mode
from assistant.retrieval import Retriever

QUERIES = [
    ("What is ztunnel?", Mode.AMBIENT),
    ("How do waypoint proxies work?", Mode.AMBIENT),
    ("How does xDS configure the gRPC library?", Mode.GRPC),
    ("What is CiliumEnvoyConfig used for?", Mode.CILIUM),
    ("How much CPU and memory does a per-pod proxy cost?", Mode.SIDECAR),
    ("Is proxyless gRPC mature enough for production?", Mode.GRPC),
    ("Will waypoints increase my cross-zone traffic cost?", Mode.AMBIENT),
    ("eBPF programs in the kernel for L4 traffic", Mode.CILIUM),
    ("When did ambient mode become generally available?", Mode.AMBIENT),
    ("Is Cilium mutual authentication deprecated?", Mode.CILIUM),
    ("Do injected Envoy proxies need pod restarts on upgrade?", Mode.SIDECAR),
    ("HBONE tunnel port 15008", Mode.AMBIENT),
]


@pytest.mark.parametrize(("query", "mode"), QUERIES)
def test_top_five_contain_a_chunk_about_the_right_mode(retriever: Retriever, query: str, mode: Mode) -> None:
    passages = retriever.search(query, k=5)
    assert len(passages) == 5
    # A chunk tagged with every mode would match anything: require one that is specific to the mode.
    specific = [p for p in passages if mode in p.chunk.modes and len(p.chunk.modes) < len(Mode)]
    assert specific, [(p.chunk.doc_id, p.chunk.section, p.chunk.modes) for p in passages]


def test_nist_query_finds_the_nist_document(retriever: Retriever) -> None:
    passages = retriever.search("What does NIST SP 800-233 say about proxy models?", k=5)
    assert any(p.chunk.doc_id == "nist-sp-800-233" for p in passages)


def test_passages_carry_citation_metadata_and_scored_sentences(retriever: Retriever) -> None:
    (top, *_rest) = retriever.search("ztunnel memory per node", k=3)
    chunk = top.chunk
    assert chunk.doc_id and chunk.title and chunk.section and chunk.as_of
    assert chunk.source_url.startswith("https://")
    assert top.rank == 1 and top.score > 0 and -1 <= top.similarity <= 1
    assert top.sentences and all(s.text and -1 <= s.score <= 1 for s in top.sentences)
    assert all(sentence.text in " ".join(chunk.text.replace("**", "").split()) for sentence in top.sentences)


def test_ranking_is_fused_and_ordered(retriever: Retriever) -> None:
    passages = retriever.search("sidecar resource cost 0.20 vCPU", k=10)
    assert [p.rank for p in passages] == list(range(1, 11))
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert len({p.chunk.id for p in passages}) == 10


@pytest.mark.parametrize("mode", list(Mode))
def test_mode_filter_returns_only_that_mode(retriever: Retriever, mode: Mode) -> None:
    passages = retriever.search("how are upgrades handled", k=8, modes=[mode])
    assert len(passages) == 8
    assert all(mode in p.chunk.modes for p in passages)


def test_filter_by_several_modes(retriever: Retriever) -> None:
    passages = retriever.search("security model", k=10, modes=[Mode.CILIUM, Mode.GRPC])
    assert passages and all({Mode.CILIUM, Mode.GRPC} & set(p.chunk.modes) for p in passages)


def test_same_query_same_result_and_one_model_call(retriever: Retriever) -> None:
    calls = retriever.embedder.calls
    first = retriever.search("What does a waypoint cost?", k=6)
    assert retriever.embedder.calls == calls + 1
    second = retriever.search("What does a waypoint cost?", k=6)
    assert [(p.chunk.id, p.score, p.sentences) for p in first] == [(p.chunk.id, p.score, p.sentences) for p in second]


def test_ratings_rationales_are_indexed_and_citable(retriever: Retriever) -> None:
    chunk = retriever.chunk("rating:sidecar:security")
    assert chunk is not None and chunk.modes == (Mode.SIDECAR,)
    assert "5 out of 5" in chunk.text and chunk.source_url.startswith("https://")
    assert retriever.chunk("capability:vm_workloads:ambient") is not None
    assert retriever.chunk("no-such-chunk") is None


def test_queries_without_matching_terms_still_return_dense_hits(retriever: Retriever) -> None:
    assert retriever.search("???", k=3)  # nothing for BM25, but the dense side always answers


def test_one_search_per_mode_filter_shares_a_single_chroma_query(
    retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    filters: list[list[Mode]] = [[mode] for mode in Mode] + [[]]
    query = "How do the modes compare on resource cost?"
    alone = [retriever.search(query, k=4, modes=modes) for modes in filters]
    queries = []
    nearest = Retriever._nearest

    def counted(*args: Any) -> list[int]:
        queries.append(args[-1])
        return nearest(*args)

    monkeypatch.setattr(Retriever, "_nearest", staticmethod(counted))
    together = retriever.search_each(query, filters, k=4)
    assert [[(p.chunk.id, p.score, p.sentences) for p in found] for found in together] == [
        [(p.chunk.id, p.score, p.sentences) for p in found] for found in alone
    ]
    assert queries == [None]  # one unfiltered Chroma query served all five filters


def test_large_indexes_rank_sentences_through_chroma_with_nearly_the_same_results(
    retriever: Retriever, built_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to EXACT_SENTENCES sentences are ranked in memory; beyond, Chroma's HNSW index ranks them. HNSW is
    approximate, so the two may differ in a place or two, never in what they find."""
    monkeypatch.setattr(retrieval, "EXACT_SENTENCES", 0)
    through_chroma = Retriever.open(Settings(_env_file=None, data_dir=built_index), retriever.embedder)
    vector = retriever.embed(["How much memory does ztunnel use per node?"])[0]
    exact = Retriever._by_sentence(retriever._snapshot, vector, 20)[:10]
    approximate_ranking = Retriever._by_sentence(through_chroma._snapshot, vector, 20)[:10]
    assert through_chroma._snapshot.sentence_matrix is None and len(set(exact) & set(approximate_ranking)) >= 8
    shared = 0
    for query, mode in QUERIES:
        approximate = [p.chunk for p in through_chroma.search(query, k=5)]
        assert any(mode in chunk.modes for chunk in approximate), query
        shared += len({c.id for c in approximate} & {p.chunk.id for p in retriever.search(query, k=5)})
    assert shared >= 0.8 * 5 * len(QUERIES)
