"""The responder: understand the question, retrieve, run the rules, compose a cited answer (one model call)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.domain.answers import Answer, RetrievedPassage
from assistant.domain.conversation import Intent, Kind, Outcome, Reading, Turn
from assistant.domain.documents import Chunk, Passage
from assistant.domain.features import feature_ref
from assistant.domain.ratings import Ratings, rating_ref
from assistant.domain.recommendation import Profile, Recommendation
from assistant.domain.sizing import Estimate, SizingFigures
from assistant.domain.text import terms
from assistant.domain.vocabulary import MODE_LABELS, MODE_SUMMARIES, Dimension, Mode
from assistant.embeddings import Vectors
from assistant.errors import LLMError, UnavailableError
from assistant.estimate import estimate
from assistant.responder.citations import CitationBook, CitationProblem, check_citations
from assistant.responder.compose import (
    HELP_TEXT,
    INJECTION_TEXT,
    OUT_OF_SCOPE_TEXT,
    Composer,
    Draft,
    fixed,
)
from assistant.responder.evidence import newest_year
from assistant.responder.llm import LLMWriter
from assistant.responder.sizing import with_estimate
from assistant.responder.superseded import mark_superseded
from assistant.retrieval import Retriever
from assistant.rules import profile, recommend
from assistant.understanding import ExampleIndex, KindClassifier, Models, load_examples, load_phrasings, plan, read
from assistant.understanding.analysis import FeatureNames, analyse_turn, evidence
from assistant.understanding.lexicon import COMPONENTS, YEAR, find_components
from assistant.understanding.reading import Familiar

EXPLAIN_K = 12
CHANGES_K = 40  # "what changed in 2024?": a year's events fill several small passages, which rank low on a bare year
COMPARE_K = 4
CONTEXT_K = 5
HISTORY_EMBEDDED = 15  # earlier user turns embedded with the question (one batch); older ones: keywords only
MAX_CELLS = 8  # matrix cells a yes-or-no answer lists
ANCHOR_WEIGHT = 0.6  # how far a resolved reference moves the question's vector towards what it names
RANKING = frozenset({Kind.RECOMMEND, Kind.WHY_NOT, Kind.WHAT_IF})  # answers that rank the modes for the platform
REFUSALS = frozenset({Kind.HELP, Kind.OUT_OF_SCOPE, Kind.INJECTION})


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


@dataclass(frozen=True)
class Handled:
    """What a kind's handler produced: the draft, the passages it retrieved, the rule refs it may cite."""

    draft: Draft
    passages: list[Passage] = field(default_factory=list)
    allowed: set[str] = field(default_factory=set)
    recommendation: Recommendation | None = None
    profiles: list[Profile] = field(default_factory=list)


Handler = Callable[[Reading, Vectors], Handled]


class Responder:
    def __init__(
        self,
        retriever: Retriever,
        ratings: Ratings,
        *,
        sizing: SizingFigures | None = None,
        writer: LLMWriter | None = None,
    ) -> None:
        self.retriever = retriever
        self.ratings = ratings
        self.sizing = sizing
        self.writer = writer
        self.composer = Composer(ratings, retriever.chunk, retriever.names_in, retriever.section_sentences)
        examples, phrasings = load_examples(), load_phrasings()
        anchors = [f"{MODE_LABELS[mode]} mode: {MODE_SUMMARIES[mode]}" for mode in Mode] + list(COMPONENTS)
        vectors = retriever.embed_many([e.text for e in examples] + [p.text for p in phrasings] + anchors)
        self.anchors = dict(zip([*Mode, *COMPONENTS], vectors[len(vectors) - len(anchors) :], strict=True))
        vectors = vectors[: len(vectors) - len(anchors)]
        matrix = ratings.features
        aliases = FeatureNames(
            {a: name for name, row in (matrix.features.items() if matrix else []) for a in row.aliases}
        )
        found = [evidence(analyse_turn(p.text, aliases)) for p in phrasings]
        self.models = Models(
            requirements=ExampleIndex(examples, vectors[: len(examples)]),
            kinds=KindClassifier.fit(phrasings, vectors[len(examples) :], found),
            features=aliases,
        )
        self.handlers: dict[Kind, Handler] = {
            Kind.RECOMMEND: self._recommend,
            Kind.WHY_NOT: self._recommend,
            Kind.WHAT_IF: self._recommend,
            Kind.COMPARE: self._compare,
            Kind.RANK: self._compare,
            Kind.TRADEOFFS: self._tradeoffs,
            Kind.POLAR: self._polar,
            Kind.DEFINITION: self._explain,
            Kind.DIFFERENCE: self._difference,
            Kind.OVERVIEW: self._overview,
            Kind.FIGURE: self._explain,
            Kind.DATE: self._explain,
            Kind.PROCEDURE: self._procedure,
            Kind.WHY: self._why,
            Kind.CHANGES: self._changes,
            Kind.HELP: lambda _reading, _vector: Handled(fixed(HELP_TEXT, refused=False, score=1.0)),
            Kind.OUT_OF_SCOPE: lambda _reading, _vector: Handled(fixed(OUT_OF_SCOPE_TEXT, refused=True, score=0.9)),
            Kind.INJECTION: lambda _reading, _vector: Handled(fixed(INJECTION_TEXT, refused=True, score=0.9)),
        }

    def answer(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        reading, vector = self.understand(question, history)
        timings["understand"] = round((time.perf_counter() - started) * 1000, 3)
        handled = self.handlers[reading.kind](reading, vector)
        draft, recommendation = handled.draft, handled.recommendation
        passages = list({p.chunk.id: p for p in handled.passages}.values())
        found = self._estimate(reading)
        if found is not None:
            first = reading.kind not in RANKING  # a cost question: the estimate is the answer; else it adds to one
            ranked = [place.mode for place in recommendation.ranking] if recommendation else list(reading.modes)
            draft = with_estimate(draft, found, ranked, first=first, chunks_of=self.retriever.section_chunks)
            recommendation = recommendation.model_copy(update={"estimate": found}) if recommendation else None
        if self.ratings.supersessions is not None:
            draft = mark_superseded(draft, self.ratings.supersessions, self.retriever.sentence_in)
        # the sizing figures and newer facts these steps cite are grounds too, like the rule layer's facts
        grounds = handled.allowed | ({chunk.id for chunk in draft.cited} - {chunk.id for chunk in handled.draft.cited})
        allowed = grounds | {p.chunk.id for p in passages}
        timings["compose"] = round((time.perf_counter() - started) * 1000 - timings["understand"], 3)
        self._check(draft, allowed)
        notes: list[str] = []
        if self.writer is not None and draft.citations:
            clock = time.perf_counter()
            draft, note = self._rewrite(question, draft, passages, recommendation)
            notes += [note] if note else []
            self._check(draft, allowed)
            timings["llm"] = round((time.perf_counter() - clock) * 1000, 3)
        timings["total"] = round((time.perf_counter() - started) * 1000, 3)
        return Answer(
            id=uuid.uuid4().hex,
            question=question,
            text=draft.text,
            intent=reading.intent,
            kind=reading.kind,
            citations=draft.citations,
            recommendation=recommendation,
            estimate=found,
            profiles=handled.profiles,
            requirements=reading.requirements,
            modes=list(reading.modes),
            dimensions=list(reading.dimensions),
            resolved_question=reading.resolved_question,
            refused=draft.refused,
            confidence=draft.confidence,
            notes=notes,
            timings=timings,
            retrieved=[
                RetrievedPassage(chunk_id=p.chunk.id, doc_id=p.chunk.doc_id, modes=list(p.chunk.modes), score=p.score)
                for p in passages
            ],
            grounds=sorted(grounds),
        )

    def _estimate(self, reading: Reading) -> Estimate | None:
        """The sizing estimate for the conversation's cluster, when its numbers are known and the answer ranks the
        modes or the question asks about resource cost."""
        cluster = reading.requirements.cluster
        if cluster is None or self.sizing is None or reading.kind in REFUSALS:
            return None
        if reading.kind in RANKING or Dimension.RESOURCE_EFFICIENCY in reading.dimensions:
            return estimate(cluster, self.sizing)
        return None

    def understand(self, question: str, history: Sequence[Turn] = ()) -> tuple[Reading, Vectors]:
        """What the question asks, and the vector retrieval uses (the question's one model call: the earlier user
        turns are embedded in the same batch and replayed)."""
        question_plan = plan(question, history, features=self.models.features, embed_turns=HISTORY_EMBEDDED)
        vectors, clause_vectors = self.retriever.embed_with_spans(question_plan.texts, question_plan.spans)
        reading = read(question_plan, vectors, clause_vectors, self.models, self.outcome, self._familiar)
        vector = vectors[-2] if question_plan.completed else vectors[-1]  # the completed question's
        return reading, self._anchored(reading, vector, question_plan.resolved_question)

    def _anchored(self, reading: Reading, vector: Vectors, embedded: str) -> Vectors:
        """The question's vector moved towards what its references resolved to ("the runner-up" is ambient, "it"
        is ztunnel): the words the question leaves out, without embedding it again."""
        implicit: list[Mode | str] = [reading.reference[1]] if reading.reference is not None else []
        implicit += [c for c in reading.components if c not in find_components(embedded.lower())]
        if reading.previous is None or not implicit:
            return vector
        moved = vector + ANCHOR_WEIGHT * sum(self.anchors[item] for item in implicit)
        return np.asarray(moved / np.linalg.norm(moved), dtype=np.float32)

    def outcome(self, reading: Reading) -> Outcome:
        """What the answer to `reading` established, as structure: a recommendation's ranking, a ranking's
        order, the modes compared or explained. Pure: the same reading always gives the same outcome."""
        if reading.intent is Intent.RECOMMEND:
            ranking = tuple(r.mode for r in recommend(reading.requirements, self.ratings).ranking)
            return Outcome(reading.kind, ranking[:1], ranking, reading.requirements, reading.dimensions)
        if reading.intent is Intent.COMPARE:
            modes = tuple(compared_modes(reading.modes))
            dimensions = reading.dimensions or tuple(self.ratings.dimensions)
            ranking = tuple(sorted(modes, key=lambda m: -sum(self.ratings.rating(m, d).score for d in dimensions)))
            return Outcome(reading.kind, modes, ranking, reading.requirements, reading.dimensions)
        return Outcome(reading.kind, reading.modes, (), reading.requirements, reading.dimensions, reading.components)

    def _familiar(self, text: str) -> Familiar:
        """How much of `text` the corpus knows: a question mostly made of the words it uses is about its subject
        even without a mesh keyword."""
        asked = set(terms(text))
        weights = self.retriever.term_weights(text)
        known = {term for term, weight in weights.items() if weight > 0}
        share = len(known & asked) / len(asked) if asked else 0.0
        unknown = any(weight < 0 for weight in weights.values())
        topics = frozenset(self.retriever.topics(text))
        return Familiar(share, bool(self.retriever.known_names(text)), unknown, topics)

    # handlers, one per kind (see `handlers`) ------------------------------------------------------------------
    def _recommend(self, reading: Reading, vector: Vectors) -> Handled:
        """The rule layer's ranking for the conversation's requirements, explained and cited."""
        recommendation = recommend(reading.requirements, self.ratings)
        top = recommendation.top
        resolved = reading.resolved_question
        passages = self.retriever.search(resolved, k=CONTEXT_K, modes=[top] if top else [], vector=vector)
        weights = self.retriever.term_weights(resolved)
        draft = self.composer.recommend(reading, recommendation, passages, weights)
        return Handled(draft, passages, recommendation.refs(), recommendation=recommendation)

    def _compare(self, reading: Reading, vector: Vectors) -> Handled:
        """A ratings table of the asked modes (all four when fewer are named) and what explains it."""
        modes = compared_modes(reading.modes)
        resolved = reading.resolved_question
        found = self.retriever.search_each(resolved, [[m] for m in modes], k=COMPARE_K, vector=vector)
        by_mode = dict(zip(modes, found, strict=True))
        draft = self.composer.compare(reading, modes, by_mode, self.retriever.term_weights(resolved))
        allowed = {f"rating:{m.value}:{d.value}" for m in modes for d in self.ratings.dimensions}
        return Handled(draft, [p for found in by_mode.values() for p in found], allowed)

    def _tradeoffs(self, reading: Reading, vector: Vectors) -> Handled:
        """One mode's strong and weak points; for several (or none named), the comparison."""
        if reading.weighs_modes:
            return self._compare(reading, vector)
        passages = self.retriever.search(reading.resolved_question, k=EXPLAIN_K, vector=vector)
        weights = self.retriever.term_weights(reading.resolved_question)
        profiled = [profile(mode, self.ratings) for mode in reading.modes]
        draft = self.composer.describe(reading, profiled, passages, weights)
        return Handled(draft, passages, {ref for each in profiled for ref in each.refs()}, profiles=profiled)

    def _changes(self, reading: Reading, vector: Vectors) -> Handled:
        """What changed in the period asked (else the newest year the sources record)."""
        resolved = reading.resolved_question
        passages = self.retriever.search(resolved, k=CHANGES_K, vector=vector)
        if not YEAR.search(resolved) and (year := newest_year(passages)):
            passages = self.retriever.search(f"{resolved} {year}", k=CHANGES_K, vector=vector)
        draft = self.composer.changes(reading, passages, self.retriever.term_weights(resolved))
        return Handled(draft, passages)

    def _explain(self, reading: Reading, vector: Vectors) -> Handled:
        """The best sentences of the retrieved passages, cited; "I don't know" when none answers."""
        passages, weights = self._passages(reading, vector)
        return Handled(self.composer.explain(reading, passages, weights), passages)

    def _why(self, reading: Reading, vector: Vectors) -> Handled:
        """The ratings behind "why is X rated so / cheaper", then the sources' reasons."""
        passages, weights = self._passages(reading, vector)
        rated = {rating_ref(mode, dimension) for mode in reading.modes for dimension in reading.dimensions}
        return Handled(self.composer.why(reading, passages, weights), passages, rated)

    def _passages(self, reading: Reading, vector: Vectors) -> tuple[list[Passage], dict[str, float]]:
        """Passages for the question (about the modes a reference resolved to, when it has one)."""
        resolved = reading.resolved_question
        modes = list(reading.modes) if reading.reference is not None else []
        passages = self.retriever.search(resolved, k=EXPLAIN_K, modes=modes, vector=vector)
        return passages, self.retriever.term_weights(resolved)

    def _overview(self, reading: Reading, vector: Vectors) -> Handled:
        """Each asked mode (all four when none is named): what it is, its status, its strong and weak points, and
        what the sources say on the question; for a component or a topic with no mode named ("the published
        benchmarks"), only what the sources say on it."""
        if reading.topic and (reading.components or not reading.modes):
            passages, weights = self._passages(reading, vector)
            draft = self.composer.explain(reading, passages, weights)
            if not draft.refused or not reading.modes:
                return Handled(draft, passages)
        modes = list(reading.modes) or list(Mode)
        defining = self._defining_passages(modes)
        passages, weights = self._passages(reading, vector) if len(modes) == 1 else ([], {})
        profiled = [profile(mode, self.ratings) for mode in modes]
        draft = self.composer.overview(reading, defining, profiled, passages, weights)
        found = [p for each in defining.values() for p in each]
        allowed = {ref for each in profiled for ref in each.refs()} | {rating_ref(m, Dimension.MATURITY) for m in modes}
        return Handled(draft, [*passages, *found], allowed, profiles=profiled if len(modes) == 1 else [])

    def _defining_passages(self, subjects: Sequence[Mode | str]) -> dict[Any, list[Passage]]:
        """For each mode or component, the passages nearest to what it is (searched by its anchor's vector)."""
        found: dict[Any, list[Passage]] = {}
        for subject in subjects:
            name = subject.label if isinstance(subject, Mode) else subject
            modes = [subject] if isinstance(subject, Mode) else []
            found[subject] = self.retriever.search(
                f"What is {name}?", k=COMPARE_K, modes=modes, vector=self.anchors[subject]
            )
        return found

    def _polar(self, reading: Reading, vector: Vectors) -> Handled:
        """Yes or no, decided by the feature matrix for the features and modes asked, then the evidence."""
        passages, weights = self._passages(reading, vector)
        modes = list(reading.modes) or list(Mode)
        cells = [(name, mode) for name in reading.features for mode in modes][:MAX_CELLS]
        draft = self.composer.polar(reading, cells, passages, weights)
        rated = {rating_ref(mode, dimension) for mode in reading.modes for dimension in reading.dimensions}
        return Handled(draft, passages, {feature_ref(name, mode) for name, mode in cells} | rated)

    def _difference(self, reading: Reading, vector: Vectors) -> Handled:
        """What each of the two things is, then what tells them apart: the two sides as the question writes them
        ("a per-service waypoint"), else the first two components or modes it names."""
        named: list[Mode | str] = [*reading.components, *reading.modes]
        passages, weights = self._passages(reading, vector)
        sides = list(reading.sides) or [s.label if isinstance(s, Mode) else s for s in named[:2]]
        if len(sides) < 2:
            return Handled(self.composer.explain(reading, passages, weights), passages)
        defining = self._defining_passages(named)
        pools = {side: [*_defining_for(side, defining), *passages] for side in sides[:2]}
        pool = [*passages, *(p for each in defining.values() for p in each)]
        return Handled(self.composer.difference(reading, (sides[0], sides[1]), pools, passages, weights), pool)

    def _procedure(self, reading: Reading, vector: Vectors) -> Handled:
        """The ordered steps the sources give."""
        passages, weights = self._passages(reading, vector)
        draft = self.composer.procedure(reading, passages, weights)
        return Handled(draft, passages, {chunk.id for chunk in draft.cited})

    def _check(self, draft: Draft, allowed: set[str]) -> None:
        chunks = {chunk.id: chunk for chunk in draft.cited}
        problems = check_citations(draft.text, draft.citations, chunks, allowed)
        if problems:
            raise CitationInvariantError(problems)

    def _rewrite(
        self,
        question: str,
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


def _defining_for(side: str, defining: Mapping[Mode | str, list[Passage]]) -> list[Passage]:
    """The passages found for what the subject named in `side` is ("waypoint" in "a per-service waypoint")."""
    lowered = side.lower()
    for subject, passages in defining.items():
        name = subject.label if isinstance(subject, Mode) else subject
        if name.lower() in lowered:
            return passages
    return []


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
