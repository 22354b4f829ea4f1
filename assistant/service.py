"""The one facade every face calls (CLI, API, Slack, evals): nothing above it touches the layers below."""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from assistant.answer_cache import AnswerCache, cache_key
from assistant.config import Settings
from assistant.corpus import SIZING_FILE, corpus_fingerprint, load_documents, load_ratings, load_sizing
from assistant.decision_record import CorpusVersion, Source, citable_sources, decision_record
from assistant.domain.answers import Answer
from assistant.domain.conversation import Turn
from assistant.domain.documents import Passage
from assistant.domain.ratings import Ratings
from assistant.domain.recommendation import Recommendation
from assistant.domain.requirements import Requirements, parse_cluster, parse_requirements
from assistant.domain.sizing import ClusterSize, Estimate, SizingFigures
from assistant.domain.vocabulary import MODE_LABELS, MODE_SUMMARIES, Mode
from assistant.embeddings import Embedder, make_embedder
from assistant.errors import AssistantError, ConfigError, InvalidRequirementError, TooLargeError, UserError
from assistant.estimate import estimate
from assistant.feedback import FeedbackRecord, FeedbackSummary, Rating
from assistant.indexing.build import BuildReport, build_index
from assistant.responder import Responder, StreamEvent, stream_events
from assistant.responder.citations import CitationProblem, check_citations
from assistant.responder.llm import LLMWriter, make_chat_model
from assistant.retrieval import IndexStatus, Retriever
from assistant.rules import recommend

if TYPE_CHECKING:
    from assistant.feedback_store import FeedbackStore

MAX_K = 50
RECOMMENDED_ANSWERS_KEPT = 10_000  # answer id -> requirements, for their decision records (about 1 KB each)


class Service:
    """Loads the model and opens the index lazily, once; safe to share between threads."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._responder: Responder | None = None
        self.answers = AnswerCache(settings.answer_cache_size)
        self._recommended: OrderedDict[str, Requirements] = OrderedDict()  # recent answers' requirements, by id
        if embedder is not None:
            self.__dict__["embedder"] = embedder  # share an already loaded model (tests, several services)

    # lazily loaded parts ----------------------------------------------------------------------------------
    @cached_property
    def ratings(self) -> Ratings:
        return load_ratings(self.settings.ratings_path)

    @cached_property
    def sizing(self) -> SizingFigures:
        path = self.settings.corpus_dir / SIZING_FILE
        if not path.is_file():
            raise ConfigError("The corpus has no sizing figures.", hint=f"Add {SIZING_FILE} beside ratings.yaml.")
        return load_sizing(path)

    @cached_property
    def embedder(self) -> Embedder:
        return make_embedder(self.settings)

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                self._retriever = Retriever.open(self.settings, self.embedder)
            else:
                self._retriever.refresh()
            return self._retriever

    @cached_property
    def feedback(self) -> FeedbackStore:
        from assistant.feedback_store import make_feedback_store  # SQLAlchemy (the serve extra) only once used

        return make_feedback_store(self.settings)

    @property
    def responder(self) -> Responder:
        retriever = self.retriever
        with self._lock:
            if self._responder is None or self._responder.retriever is not retriever:
                model = make_chat_model(self.settings)
                writer = LLMWriter(model, timeout=self.settings.llm_timeout) if model is not None else None
                sizing = self.sizing if (self.settings.corpus_dir / SIZING_FILE).is_file() else None
                self._responder = Responder(retriever, self.ratings, sizing=sizing, writer=writer)
            return self._responder

    def warm_up(self) -> None:
        """Load the model, open the index and prepare the responder now rather than on the first question; when
        that loaded something (the first call, a new index generation), hand back the memory loading freed."""
        before = self._responder
        if self.responder is not before:
            _trim_heap()

    # operations -------------------------------------------------------------------------------------------
    def modes(self) -> list[dict[str, str]]:
        return [{"id": m.value, "label": MODE_LABELS[m], "summary": MODE_SUMMARIES[m]} for m in Mode]

    def ratings_table(self) -> dict[str, Any]:
        """The ratings matrix with rationales and sources, plus the capability facts (the public JSON shape)."""
        ratings = self.ratings
        return {
            "modes": [m.value for m in ratings.modes],
            "dimensions": {d.value: info.model_dump(mode="json") for d, info in ratings.dimensions.items()},
            "ratings": {
                m.value: {d.value: r.model_dump(mode="json") for d, r in by_dim.items()}
                for m, by_dim in ratings.ratings.items()
            },
            "capabilities": {
                name: {
                    "label": cap.label,
                    "modes": {m.value: fact.model_dump(mode="json") for m, fact in cap.modes.items()},
                }
                for name, cap in ratings.capabilities.items()
            },
        }

    def feature_ids(self) -> list[str]:
        """The ids of the feature matrix's rows; none when the corpus has no matrix or cannot be read."""
        try:
            matrix = self.ratings.features
        except AssistantError:
            return []
        return list(matrix.features) if matrix is not None else []

    def features_table(self, *, feature: str | None = None, mode: Mode | None = None) -> dict[str, Any]:
        """The feature and status matrix (every cell with status, since, note, source and read date), optionally
        one feature's row or one mode's column."""
        matrix = self.ratings.features
        if matrix is None:
            raise ConfigError("The corpus has no feature matrix.", hint="Add features.yaml beside ratings.yaml.")
        if feature is not None and feature not in matrix.features:
            raise InvalidRequirementError(
                f"unknown feature {feature!r}", hint=f"Known features: {', '.join(matrix.features)}."
            )
        modes = [mode] if mode is not None else list(Mode)
        rows = {name: row for name, row in matrix.features.items() if feature in (None, name)}
        return {
            "as_of": matrix.as_of.isoformat(),
            "modes": [m.value for m in modes],
            "features": {
                name: {
                    "label": row.label,
                    "group": row.group.value,
                    "need": row.need,
                    "differs": row.differs(),
                    "modes": {m.value: row.modes[m].model_dump(mode="json") for m in modes},
                }
                for name, row in rows.items()
            },
        }

    def sources(self, *, older_than_days: int | None = None, today: date | None = None) -> dict[str, Any]:
        """Every corpus document (by its `as_of`) and matrix cell (by the date its source was read), oldest first;
        with `older_than_days`, only those read more than that many days before `today`."""
        if older_than_days is not None and older_than_days < 0:
            raise UserError("older-than must be 0 days or more.")
        now = today or date.today()
        cutoff = now - timedelta(days=older_than_days) if older_than_days is not None else None
        documents = [
            {"id": doc.id, "title": doc.title, "as_of": doc.as_of, "sources": list(doc.sources)}
            for doc in load_documents(self.settings.corpus_dir)
            if cutoff is None or date.fromisoformat(doc.as_of) < cutoff
        ]
        matrix = self.ratings.features
        cells = [
            {"feature": name, "mode": mode.value, "read": cell.read.isoformat(), "source": cell.source}
            for name, row in (matrix.features.items() if matrix else [])
            for mode, cell in row.modes.items()
            if cutoff is None or cell.read < cutoff
        ]
        return {
            "today": now.isoformat(),
            "older_than_days": older_than_days,
            "documents": sorted(documents, key=lambda d: (d["as_of"], d["id"])),
            "cells": sorted(cells, key=lambda c: (c["read"], c["feature"], c["mode"])),
        }

    def recommend(self, requirements: Requirements | Mapping[str, Any]) -> Recommendation:
        if not isinstance(requirements, Requirements):
            requirements = parse_requirements(requirements)
        known = self.ratings.features.features if self.ratings.features is not None else {}
        unknown = [need for need in requirements.needs if need not in known]
        if unknown:
            raise InvalidRequirementError(
                f"needs: unknown feature {', '.join(map(repr, unknown))}",
                hint="Feature ids are listed by GET /v1/features and `assistant features`.",
            )
        result = recommend(requirements, self.ratings)
        if requirements.cluster is None:
            return result
        return result.model_copy(update={"estimate": estimate(requirements.cluster, self.sizing)})

    def estimate(
        self,
        *,
        nodes: int,
        pods: int,
        l7_scopes: int = 0,
        requests_per_second: float = 0.0,
        grpc_share: float | None = None,
        zones: int | None = None,
    ) -> Estimate:
        """Each mode's data-plane CPU and memory for a cluster of `nodes` nodes and `pods` meshed pods, of which
        `l7_scopes` namespaces or services need L7, carrying `requests_per_second` (`grpc_share` of them gRPC)
        over `zones` zones: every figure cited with its release, load and set-up, none guessed."""
        stated = {"nodes": nodes, "pods": pods, "l7_scopes": l7_scopes, "requests_per_second": requests_per_second}
        optional = {"grpc_share": grpc_share, "zones": zones}
        cluster: ClusterSize = parse_cluster(stated | {k: v for k, v in optional.items() if v is not None})
        return estimate(cluster, self.sizing)

    def decision_record(self, requirements: Requirements | Mapping[str, Any]) -> str:
        """The recommendation for `requirements` as an architecture decision record (MADR, Markdown)."""
        return decision_record(self.recommend(requirements), self.ratings, self.corpus_version())

    def recommendation_sources(self, recommendation: Recommendation) -> dict[str, Source]:
        """The source (label, public URL, corpus section) of each ref the recommendation's reasons, caveats and
        exclusions cite, in the order first cited."""
        resolve = citable_sources(self.ratings)
        reasons = [reason for ranked in recommendation.ranking for reason in (*ranked.reasons, *ranked.caveats)]
        refs = [reason.ref for reason in reasons] + [excluded.reason.ref for excluded in recommendation.excluded]
        return {ref: resolve[ref] for ref in refs if ref in resolve}

    def answer_decision_record(self, answer_id: str) -> str | None:
        """The decision record of a recent answer of this service that carried a recommendation, else None."""
        with self._lock:
            requirements = self._recommended.get(answer_id)
        return None if requirements is None else self.decision_record(requirements)

    def corpus_version(self) -> CorpusVersion:
        """A hash of the corpus files and the latest date its documents, ratings and figures were checked."""
        corpus_dir = self.settings.corpus_dir
        dates = [date.fromisoformat(doc.as_of) for doc in load_documents(corpus_dir)] + [self.ratings.as_of]
        dates += [self.ratings.features.as_of] if self.ratings.features is not None else []
        dates += [self.sizing.as_of] if (corpus_dir / SIZING_FILE).is_file() else []
        return CorpusVersion(fingerprint=corpus_fingerprint(corpus_dir), as_of=max(dates))

    def ask(self, question: str, history: Sequence[Turn | Mapping[str, Any]] = ()) -> Answer:
        """A cited answer to `question`, given the conversation so far (again from the cache when the same
        question, history and index generation were answered recently: under its own id, for feedback)."""
        started = time.perf_counter()
        question, turns = self._checked(question, history)
        responder = self.responder
        key = cache_key(question, turns, responder.retriever.generation)
        cached = self.answers.get(key)
        if cached is None:
            answer = responder.answer(question, turns)
            self.answers.put(key, answer)
            return self._kept(answer)
        return self._kept(_served(cached, started))

    def answer_if_cached(self, question: str, history: Sequence[Turn | Mapping[str, Any]] = ()) -> Answer | None:
        """`ask`'s answer when the cache holds it and nothing has to be loaded or refreshed first, else None: an
        event loop can serve a repeated question itself instead of handing it to a worker thread."""
        started = time.perf_counter()
        question, turns = self._checked(question, history)
        retriever = self._retriever
        if retriever is None or retriever.refresh_due():
            return None
        key = cache_key(question, turns, retriever.generation)
        cached = self.answers.get(key, count_miss=False)  # on a miss the caller goes on to `ask`, which counts it
        return None if cached is None else self._kept(_served(cached, started))

    def _kept(self, answer: Answer) -> Answer:
        """Remember the requirements of an answer that recommends, so its decision record can be asked for."""
        if answer.recommendation is not None and not answer.refused:
            with self._lock:
                self._recommended[answer.id] = answer.recommendation.requirements
                while len(self._recommended) > RECOMMENDED_ANSWERS_KEPT:
                    self._recommended.popitem(last=False)
        return answer

    def stream(self, question: str, history: Sequence[Turn | Mapping[str, Any]] = ()) -> Iterator[StreamEvent]:
        """The answer text in pieces, then the whole Answer (input is checked before the first piece)."""
        return stream_events(self.ask(question, history))

    def _checked(self, question: str, history: Sequence[Turn | Mapping[str, Any]]) -> tuple[str, list[Turn]]:
        limits = self.settings
        if not isinstance(question, str) or not question.strip():
            raise UserError("The question is empty.", hint="Ask about a mode, your requirements or a component.")
        if len(question) > limits.max_question_chars:
            raise TooLargeError(f"The question is longer than {limits.max_question_chars} characters.")
        if len(history) > limits.max_history_turns:
            raise TooLargeError(f"The history has more than {limits.max_history_turns} turns.")
        try:
            turns = [turn if isinstance(turn, Turn) else Turn.model_validate(turn) for turn in history]
        except ValidationError as exc:
            raise UserError(f"Invalid history: {exc.errors()[0]['msg']}", hint="Each turn is {role, content}.") from exc
        return question.strip(), turns

    def record_feedback(self, answer_id: str, rating: Rating, comment: str = "", source: str = "") -> FeedbackRecord:
        return self.feedback.record(answer_id, rating, comment, source)

    def feedback_summary(self) -> FeedbackSummary:
        return self.feedback.summary()

    def check_answer(self, answer: Answer) -> list[CitationProblem]:
        """Every citation invariant `answer` breaks (none, for answers this service produced)."""
        allowed = {passage.chunk_id for passage in answer.retrieved} | set(answer.grounds)
        chunks = {c.chunk_id: chunk for c in answer.citations if (chunk := self.retriever.chunk(c.chunk_id))}
        missing = [
            CitationProblem(f"[{c.n}]", f"{c.chunk_id} is not in the index")
            for c in answer.citations
            if c.chunk_id not in chunks
        ]
        return missing + check_citations(answer.text, answer.citations, chunks, allowed)

    def search(self, query: str, *, k: int = 5, modes: Sequence[Mode] = ()) -> list[Passage]:
        query = query.strip()
        if not query:
            raise UserError("The search query is empty.", hint="Ask about a mode, a component or a figure.")
        if len(query) > self.settings.max_question_chars:
            raise UserError(f"The query is longer than {self.settings.max_question_chars} characters.")
        if not 1 <= k <= MAX_K:
            raise UserError(f"k must be between 1 and {MAX_K}.")
        return self.retriever.search(query, k=k, modes=modes)

    def count_tokens(self, text: str) -> int:
        """The tokens of `text` by the embedding model's tokenizer (with or without torch): OpenAI's `usage`."""
        return self.embedder.token_count(text)

    def index_status(self) -> IndexStatus:
        return self.retriever.status()

    def build_index(
        self,
        *,
        rebuild: bool = False,
        add_paths: Sequence[str] = (),
        progress: Callable[[int, int], None] | None = None,
    ) -> BuildReport:
        report = build_index(self.settings, self.embedder, rebuild=rebuild, add_paths=add_paths, progress=progress)
        with self._lock:
            self._retriever = None  # the next search opens the new generation
        return report


def _served(cached: Answer, started: float) -> Answer:
    """A cached answer under a new id (feedback names one answer), timed as served."""
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    return cached.model_copy(update={"id": uuid.uuid4().hex, "timings": {"cache": elapsed, "total": elapsed}})


def _trim_heap() -> None:
    """glibc keeps the heap freed by loading (Chroma's reader, the records parsed from it, the fit's arrays: about
    30 MB) for reuse, and a server would carry it for life: malloc_trim returns it. A no-op without glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
