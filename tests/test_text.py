from __future__ import annotations

import pytest

from assistant.domain.text import names, plain, sentence_spans, stem, terms, written_names


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


def test_sentences_split_on_terminal_punctuation_but_not_on_versions_or_figures() -> None:
    text = "Istio 1.24 measured 0.20 vCPU per sidecar. Ambient used 0.06 vCPU! Why? Because of ztunnel."
    assert sentences(text) == [
        "Istio 1.24 measured 0.20 vCPU per sidecar.",
        "Ambient used 0.06 vCPU!",
        "Why?",
        "Because of ztunnel.",
    ]


def test_abbreviations_do_not_end_a_sentence() -> None:
    text = "Some filters, e.g. Lua, need EnvoyFilter. Sidecar vs. ambient differs here."
    assert sentences(text) == [
        "Some filters, e.g. Lua, need EnvoyFilter.",
        "Sidecar vs. ambient differs here.",
    ]


def test_bullets_and_paragraphs_are_separate_sentences() -> None:
    text = "Blockers:\n- VM workloads\n- SPIRE as the CA\n\nNext paragraph here"
    assert sentences(text) == ["Blockers:", "- VM workloads", "- SPIRE as the CA", "Next paragraph here"]


def test_an_initial_does_not_end_a_sentence() -> None:
    text = "It has three authors: R. Chandramouli of NIST and Z. Butcher. NIST published it in 2024."
    assert sentences(text) == [
        "It has three authors: R. Chandramouli of NIST and Z. Butcher.",
        "NIST published it in 2024.",
    ]


def test_a_dangling_list_marker_is_not_part_of_a_sentence() -> None:
    assert sentences("Pick it for Java, Go or C++.\n-") == ["Pick it for Java, Go or C++."]
    assert sentences("Languages: Java and C++") == ["Languages: Java and C++"]


def test_spans_index_into_the_original_text() -> None:
    text = "  First one.  Second one.\n"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["First one.", "Second one."]


@pytest.mark.parametrize(("raw", "clean"), [("- **Bold** `code` item", "Bold code item"), ("1. Step one", "Step one")])
def test_plain_strips_markdown(raw: str, clean: str) -> None:
    assert plain(raw) == clean


def test_terms_stem_and_drop_stopwords() -> None:
    assert terms("What are the upgrades for ztunnel proxies?") == ["upgrad", "ztunnel", "proxy"]


@pytest.mark.parametrize("word", ["upgrade", "upgrades", "upgraded", "upgrading"])
def test_inflections_share_a_stem(word: str) -> None:
    assert stem(word) == stem("upgrade")


@pytest.mark.parametrize("word", ["class", "status", "1.24", "ztunnel"])
def test_stem_leaves_other_words_alone(word: str) -> None:
    assert stem(word) == word


def test_names_in_a_question_skip_its_opening_word_but_a_corpus_counts_every_capitalised_word() -> None:
    assert names("Does Istio ambient support Windows nodes on 1.29?") == {"istio", "window", "1.29"}
    assert names("Does Ambient Support Windows Nodes On 1.29?") == {"1.29"}  # title case: capitals say nothing
    assert written_names("Cilium runs eBPF. The maintenance window on Istio 1.24.") == {"cilium", "istio", "1.24"}
