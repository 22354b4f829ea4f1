"""Repeated questions are answered again from the cache, never across another history or a rebuilt index."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import retrieval
from assistant.answer_cache import AnswerCache, cache_key
from assistant.config import Settings
from assistant.domain.conversation import Turn
from assistant.embeddings import Embedder
from assistant.errors import UserError
from assistant.indexing.build import build_index
from assistant.service import Service

BANK = [{"role": "user", "content": "We're a bank. Which mode?"}, {"role": "assistant", "content": "Sidecar."}]
TINY = [{"role": "user", "content": "Tiny cluster, every MB counts."}, {"role": "assistant", "content": "Ambient."}]


def fresh(settings: Settings, embedder: Embedder) -> Service:
    return Service(settings, embedder=embedder)


def test_a_repeated_question_is_served_from_the_cache_under_its_own_id(built_index: Path, embedder: Embedder) -> None:
    service = fresh(Settings(_env_file=None, data_dir=built_index), embedder)
    first = service.ask("How much memory does ztunnel use?")
    calls = embedder.calls
    again = service.ask("  How much memory does ztunnel use?  ")  # the checked question is the key
    assert embedder.calls == calls  # no model call: nothing was recomputed
    assert again.model_dump(exclude={"id", "timings"}) == first.model_dump(exclude={"id", "timings"})
    assert again.id != first.id and set(again.timings) == {"cache", "total"}
    assert (service.answers.hits, service.answers.misses) == (1, 1)


def test_the_same_question_after_another_conversation_is_answered_afresh(built_index: Path, embedder: Embedder) -> None:
    service = fresh(Settings(_env_file=None, data_dir=built_index), embedder)
    after_bank = service.ask("why not ambient?", BANK)
    calls = embedder.calls
    after_tiny = service.ask("why not ambient?", TINY)
    assert embedder.calls == calls + 1
    assert after_bank.requirements != after_tiny.requirements


def test_a_rebuilt_index_never_serves_answers_from_the_old_one(private_index: Settings, embedder: Embedder) -> None:
    service = fresh(private_index, embedder)
    before = service.ask("What is a quokka relay?")
    assert before.refused
    glossary = private_index.corpus_dir / "glossary.md"
    note = "## ztunnel\n\nA quokka relay is the nickname the glossary gives ztunnel's HBONE tunnel endpoint.\n"
    glossary.write_text(glossary.read_text().replace("## ztunnel\n", note, 1))
    old = service.retriever.generation
    build_index(private_index, embedder)
    service.retriever.refresh(min_interval=0)  # as the service does every few seconds
    assert service.retriever.generation != old
    after = service.ask("What is a quokka relay?")
    assert "cache" not in after.timings and not after.refused and "quokka relay" in after.text.lower()


def test_a_cache_of_size_zero_keeps_nothing(built_index: Path, embedder: Embedder) -> None:
    service = fresh(Settings(_env_file=None, data_dir=built_index, answer_cache_size=0), embedder)
    service.ask("What is HBONE?")
    calls = embedder.calls
    service.ask("What is HBONE?")
    assert embedder.calls == calls + 1


def test_the_least_recently_used_answer_leaves_first(service: Service) -> None:
    cache = AnswerCache(size=2)
    answers = {question: service.responder.answer(question) for question in ("What is HBONE?", "What is xDS?")}
    keys = {question: cache_key(question, [Turn(role="user", content="hi")], "g1") for question in answers}
    for question, answer in answers.items():
        cache.put(keys[question], answer)
    assert cache.get(keys["What is HBONE?"]) is answers["What is HBONE?"]  # now the most recent
    cache.put(cache_key("What is xDS?", [], "g2"), answers["What is xDS?"])  # another generation: another key
    assert cache.get(keys["What is xDS?"]) is None
    assert cache.get(keys["What is HBONE?"]) is not None


def test_an_event_loop_gets_a_cached_answer_only_when_nothing_must_load_or_refresh(
    built_index: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retrieval, "REFRESH_INTERVAL", 3600.0)  # no check falls due however slow the machine
    service = fresh(Settings(_env_file=None, data_dir=built_index), embedder)
    assert service.answer_if_cached("What is HBONE?") is None  # the index is not open yet: a worker opens it
    first = service.ask("What is HBONE?")
    assert service.answer_if_cached("What is xDS?") is None  # not answered yet
    served = service.answer_if_cached(" What is HBONE? ")
    assert served is not None and served.text == first.text and served.id != first.id
    monkeypatch.setattr(retrieval, "REFRESH_INTERVAL", 0.0)  # a check for a new generation is due
    assert service.answer_if_cached("What is HBONE?") is None
    with pytest.raises(UserError):
        service.answer_if_cached("   ")  # bad input fails here as in `ask`
