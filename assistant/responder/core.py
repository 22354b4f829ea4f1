"""The responder: understand the question, retrieve, run the rules, compose a cited answer (one model call)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from assistant.domain.answers import Answer, RetrievedPassage
from assistant.domain.conversation import Intent, Turn, Understanding
from assistant.domain.documents import Chunk, Passage
from assistant.domain.ratings import Ratings
from assistant.domain.recommendation import Profile, Recommendation
from assistant.domain.text import terms
from assistant.domain.vocabulary import Mode
from assistant.embeddings import Vectors
from assistant.errors import LLMError, UnavailableError
from assistant.responder.citations import CitationBook, CitationProblem, check_citations
from assistant.responder.compose import (
    HELP_TEXT,
    INJECTION_TEXT,
    OUT_OF_SCOPE_TEXT,
    Composer,
    Draft,
    fixed,
    newest_year,
)
from assistant.responder.llm import LLMWriter
from assistant.retrieval import Retriever
from assistant.rules import profile, recommend
from assistant.understanding import ExampleIndex, Examples, load_examples, plan, understand
from assistant.understanding.lexicon import YEAR

EXPLAIN_K = 12
CHANGES_K = 40  # "what changed in 2024?": a year's events fill several small passages, which rank low on a bare year
COMPARE_K = 4
CONTEXT_K = 5
HISTORY_EMBEDDED = 15  # earlier user turns embedded with the question (one batch); older ones: keywords only


@dataclass(frozen=True)
class Delta:
    """A piece of the answer text, in order; the pieces concatenate to `Answer.text`."""

    text: str


@dataclass(frozen=True)
class Final:
    answer: Answer


StreamEvent = Delta | Final


class CitationInvariantError(UnavailableError):
    """A composed answer broke a citation invariant: it is withheld rather than served with a bad citation."""

    code = "citation_invariant"

    def __init__(self, problems: list[CitationProblem]) -> None:
        detail = "; ".join(f"{p.marker}: {p.problem}" for p in problems[:3])
        super().__init__(
            f"The answer broke a citation invariant: {detail}",
            hint="The answer was withheld; please report the question (and the corpus change, if any).",
        )
        self.problems = problems


def compared_modes(asked: Sequence[Mode]) -> list[Mode]:
    """The modes a comparison covers: those asked when two or more are, else all four."""
    return list(asked) if len(asked) >= 2 else list(Mode)


class Responder:
    def __init__(self, retriever: Retriever, ratings: Ratings, *, writer: LLMWriter | None = None) -> None:
        self.retriever = retriever
        self.ratings = ratings
        self.writer = writer
        self.composer = Composer(ratings, retriever.chunk)
        requirements, intents = load_examples()
        vectors = retriever.embed_many([e.text for e in requirements] + [e.text for e in intents])
        self.examples = Examples(
            requirements=ExampleIndex(requirements, vectors[: len(requirements)]),
            intents=ExampleIndex(intents, vectors[len(requirements) :]),
        )

    def answer(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round((now - clock) * 1000, 3)
            clock = now

        started = clock
        understanding, vector = self.understand(question, history)
        lap("understand")

        recommendation: Recommendation | None = None
        profiled: list[Profile] = []
        passages: list[Passage] = []
        allowed: set[str] = set()
        if understanding.intent is Intent.HELP:
            draft = fixed(HELP_TEXT, refused=False, score=1.0)
        elif understanding.intent is Intent.OUT_OF_SCOPE:
            draft = fixed(INJECTION_TEXT if understanding.injection else OUT_OF_SCOPE_TEXT, refused=True, score=0.9)
        else:
            resolved = understanding.resolved_question
            if understanding.intent is Intent.COMPARE:
                modes = compared_modes(understanding.modes)
                found = self.retriever.search_each(resolved, [[m] for m in modes], k=COMPARE_K, vector=vector)
                by_mode = dict(zip(modes, found, strict=True))
                passages = [p for found in by_mode.values() for p in found]
                lap("retrieve")
                draft = self.composer.compare(understanding, modes, by_mode, self.retriever.term_weights(resolved))
                allowed = {f"rating:{m.value}:{d.value}" for m in modes for d in self.ratings.dimensions}
            elif understanding.intent is Intent.RECOMMEND:
                recommendation = recommend(understanding.requirements, self.ratings)
                lap("rules")
                top = recommendation.top
                passages = self.retriever.search(resolved, k=CONTEXT_K, modes=[top] if top else [], vector=vector)
                lap("retrieve")
                weights = self.retriever.term_weights(resolved)
                draft = self.composer.recommend(understanding, recommendation, passages, weights)
                allowed = recommendation.refs()
            else:
                if understanding.changes:
                    passages = self._search_changes(resolved, vector)
                else:
                    passages = self.retriever.search(resolved, k=EXPLAIN_K, vector=vector)
                lap("retrieve")
                weights = self.retriever.term_weights(resolved)
                if understanding.changes:  # "what changed in 2025?"
                    draft = self.composer.changes(understanding, passages, weights)
                elif understanding.aspects and understanding.modes:  # "what are ambient's downsides?"
                    profiled = [profile(mode, self.ratings) for mode in understanding.modes]
                    draft = self.composer.describe(understanding, profiled, passages, weights)
                    allowed = {ref for each in profiled for ref in each.refs()}
                else:
                    draft = self.composer.explain(understanding, passages, weights)
            allowed |= {p.chunk.id for p in passages}
        lap("compose")
        self._check(draft, allowed)
        notes: list[str] = []
        if self.writer is not None and draft.citations:
            draft, note = self._rewrite(question, understanding, draft, passages, recommendation)
            notes += [note] if note else []
            self._check(draft, allowed)
            lap("llm")
        timings["total"] = round((time.perf_counter() - started) * 1000, 3)
        return Answer(
            id=uuid.uuid4().hex,
            question=question,
            text=draft.text,
            intent=understanding.intent,
            citations=draft.citations,
            recommendation=recommendation,
            profiles=profiled,
            requirements=understanding.requirements,
            modes=list(understanding.modes),
            dimensions=list(understanding.dimensions),
            resolved_question=understanding.resolved_question,
            refused=draft.refused,
            confidence=draft.confidence,
            notes=notes,
            timings=timings,
            retrieved=[
                RetrievedPassage(chunk_id=p.chunk.id, doc_id=p.chunk.doc_id, modes=list(p.chunk.modes), score=p.score)
                for p in passages
            ],
        )

    def understand(self, question: str, history: Sequence[Turn] = ()) -> tuple[Understanding, Vectors]:
        """What the question asks, and the vector retrieval uses (the question's one model call)."""
        question_plan = plan(question, history, embed_turns=HISTORY_EMBEDDED)
        vectors, clause_vectors = self.retriever.embed_with_spans(question_plan.texts, question_plan.spans)
        asked = set(terms(question))
        known = {term for term, weight in self.retriever.term_weights(question).items() if weight > 0}
        familiar = len(known) / len(asked) if asked else 0.0
        understanding = understand(question_plan, vectors, clause_vectors, self.examples, familiar=familiar)
        return understanding, vectors[-1]

    def _search_changes(self, question: str, vector: Vectors) -> list[Passage]:
        """Passages for "what changed in 2025?"; for "what's new lately?", for the newest year they name."""
        passages = self.retriever.search(question, k=CHANGES_K, vector=vector)
        if not YEAR.search(question) and (year := newest_year(passages)):
            passages = self.retriever.search(f"{question} {year}", k=CHANGES_K, vector=vector)
        return passages

    def _check(self, draft: Draft, allowed: set[str]) -> None:
        chunks = {chunk.id: chunk for chunk in draft.cited}
        problems = check_citations(draft.text, draft.citations, chunks, allowed)
        if problems:
            raise CitationInvariantError(problems)

    def _rewrite(
        self,
        question: str,
        understanding: Understanding,
        draft: Draft,
        passages: list[Passage],
        recommendation: Recommendation | None,
    ) -> tuple[Draft, str]:
        assert self.writer is not None
        given: list[Chunk] = list(draft.cited)
        given += [p.chunk for p in passages if p.chunk.id not in {c.id for c in given}]
        first = recommendation.top if recommendation is not None else None
        try:
            rewrite = self.writer.rewrite(question, draft.text, given, first_pick=first)
        except LLMError as exc:
            return draft, f"The language model's answer was not used ({exc}); this is the deterministic answer."
        book = CitationBook()
        for chunk in rewrite.cited:
            book.cite(chunk)
        note = (
            f"Removed {rewrite.removed} unsupported citation(s) from the language model's answer."
            if rewrite.removed
            else ""
        )
        return Draft(rewrite.text, book.citations(), rewrite.cited, draft.refused, draft.confidence), note


def stream_events(answer: Answer) -> Iterator[StreamEvent]:
    """The answer text in pieces (a few words each), then the whole Answer."""
    for piece in pieces(answer.text):
        yield Delta(piece)
    yield Final(answer)


def pieces(text: str, size: int = 24) -> Iterator[str]:
    """`text` in pieces of about `size` characters, split after spaces, concatenating back exactly."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        space = text.find(" ", end)
        end = len(text) if space == -1 else space + 1
        yield text[start:end]
        start = end
