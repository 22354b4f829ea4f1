"""Deterministic answers in clear prose, from the rule output and retrieved passages (no language model).

Every cited segment is built to be supported by construction: sentences quoted from a passage, or statements
of the rating or capability fact they cite.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from assistant.domain.answers import Citation, Confidence
from assistant.domain.conversation import Aspect, Understanding
from assistant.domain.documents import Chunk, Passage, ScoredSentence
from assistant.domain.ratings import Ratings, rating_ref
from assistant.domain.recommendation import Profile, RankedMode, Reason, Recommendation
from assistant.domain.text import terms
from assistant.domain.vocabulary import Dimension, Mode
from assistant.responder.citations import CitationBook, attach
from assistant.understanding import lexicon

HELP_TEXT = (
    "I help platform teams choose a service-mesh data plane (sidecar, ambient, Cilium or proxyless gRPC) and "
    "answer from cited sources. Tell me about your platform (security needs, team size, gRPC use, VMs, Cilium, "
    "several clusters, regulation) and I will rank the four modes, say why, and say what would change the pick. "
    "You can also ask me to compare modes or explain a component. Try:\n"
    "- *We're a bank with strict isolation needs. Which mode?*\n"
    "- *Compare sidecar and ambient on resource cost.*\n"
    "- *What is a waypoint proxy?*\n"
    "- *How much CPU does a sidecar use at 1000 requests per second?*"
)
OUT_OF_SCOPE_TEXT = (
    "I can only help with service-mesh data planes: choosing between sidecar, ambient, Cilium and proxyless gRPC "
    "for your requirements, comparing them, and explaining how they work, with sources. That question is outside "
    "what I can answer."
)
INJECTION_TEXT = (
    "I can't follow instructions that try to change how I answer. I rank the four data-plane modes from the "
    "requirements you describe and answer only from my sources: ask me about your platform, or about sidecar, "
    "ambient, Cilium or proxyless gRPC."
)
UNKNOWN_TEXT = (
    "I don't know from my sources: they do not cover that. I can answer questions about the four data-plane "
    "modes (sidecar, ambient, Cilium and proxyless gRPC): their architecture, security, resource cost, latency, "
    "maturity, operations and the published figures."
)

# An explanation is given only when a chosen sentence is close to the question and carries its rarer words, and
# the question names nothing the corpus never mentions (another product, an unknown release); see answerability.
# Calibrated on 57 answerable and 17 unanswerable questions (the public explain fixtures and probes); below the
# bar the answer is "I don't know from my sources".
ANSWER_FLOOR = 0.42
ANSWER_BAR = 0.70
SENTENCE_COVERAGE_WEIGHT = 0.2
COVERAGE_WEIGHT = 0.1
UNSEEN_WEIGHT = 0.5
EXPLAIN_SENTENCES = 4
ASPECT_SENTENCES = 2  # after a mode's rated strong or weak points, the sources' best sentences on them
CHANGE_SENTENCES = 8  # what changed in a period: its most relevant dated events
RULE_FACTS_CONFIDENCE = 0.85  # points read from the ratings file: as sure as its sources, not a retrieval guess
SAME_CHUNK_PENALTY = 0.04  # prefer sentences from different passages
# A sentence repeats an earlier one (see `repeats`) above these: term overlap (Jaccard), embedding similarity, and
# a lower similarity when it also brings the same figures. Set from paraphrase pairs the corpus holds (0.80-0.93).
SAME_WORDS = 0.6
SAME_MEANING = 0.85
CLOSE_MEANING = 0.75
TOPIC_BONUS = 0.08  # a sentence about the asked dimension (cost, latency, maturity...)
FIGURE_BONUS = 0.06  # a sentence with a measured figure, when the question asks about cost or latency
DEFINITION_BONUS = 0.1  # "X is ..." when the question is "what is X?"
_FIGURE = re.compile(r"\d[\d.,]*\s?(?:vcpu|mcpu|mb|mib|gb|ms|%|rps|requests per second)\b")
_MEASURED = {Dimension.RESOURCE_EFFICIENCY, Dimension.PERFORMANCE}
# A sentence dated in the year the question names, or, when it asks about now, in the newest year the passages name.
DATED_BONUS = 0.06
UNDATED_PENALTY = 0.15  # a sentence with no date cannot answer "when did ambient go GA?"
_WHEN = re.compile(r"\s*(?:when (?:did|was|were|will|has|had)|since when|in (?:which|what) year|(?:what|which) year)\b")
_NOW = re.compile(r"\b(?:still|now|today|currently|current|latest|anymore|these days|at the moment)\b")
# A status question ("is X production ready?") asks about now too, unless it asks when or what happened first.
_PAST = re.compile(
    r"\bwhen\b|\b(?:which|what) (?:version|release)\b|\bfirst\b|\boriginal|\bhistory\b|\b20\d\d\b"
    r"|\b(?:was|were|did|became)\b"
)
_MONTHS = [
    *("january", "february", "march", "april", "may", "june"),
    *("july", "august", "september", "october", "november", "december"),
]
_DATE = re.compile(  # "2025-07-28", "October 2025", "2023": when a sentence says its event happened
    rf"\b(?P<iso>20\d\d-\d\d(?:-\d\d)?)\b|\b(?P<month>{'|'.join(_MONTHS)}) (?P<year>20\d\d)\b|\b(?P<bare>20\d\d)\b"
)
_READ = re.compile(r"\b(?:read|as of|accessed|until|dated)\b[^;)]{0,30}$")  # "read in the Istio 1.29 era, <date>"
_PERIOD = re.compile(r"(?P<first>20\d\d)(?:\s*[–-]\s*(?P<last>20\d\d))?\b")
_NUMBER = re.compile(r"\d+(?:[.,/-]\d+)*")  # a figure, a version or a date (2025-07-28) as one token
_WHAT_IS = re.compile(r"^\s*(?:what(?:'s| is| are)|define)\s+(?:an?\s+|the\s+)?(?P<subject>[\w .-]+?)\s*\??\s*$")
OVERLAP_WEIGHT = 0.3  # times the share of the question's (rarity-weighted) words a sentence carries
HEADING_SHARE = 0.5  # a question word in the sentence's section heading counts half


@dataclass(frozen=True, slots=True)
class _Sentence:
    """What selection reads from a corpus sentence, worked out once per sentence (see `_read`)."""

    words: frozenset[str]  # its stemmed content words
    eligible: bool  # a statement: at least six words, not a lead-in to a list
    lowered: str
    dimensions: frozenset[Dimension]  # the dimensions it speaks about
    measured: bool  # carries a measured figure (vCPU, MB, ms...)
    years: frozenset[str]
    figures: frozenset[str]  # figures, versions and dates


# (-score, passage rank, text, similarity, passage, sentence): sorted, best first, ties broken deterministically
_Candidate = tuple[float, int, str, float, Passage, ScoredSentence]


@functools.lru_cache(maxsize=32_768)  # every answer reads the same corpus sentences again
def _read(text: str) -> _Sentence:
    lowered = text.lower()
    return _Sentence(
        words=frozenset(terms(text)),
        eligible=len(text.split()) >= 6 and not text.endswith(":"),
        lowered=lowered,
        dimensions=frozenset(d for d, pattern in lexicon.DIMENSION_PATTERNS if pattern.search(lowered)),
        measured=bool(_FIGURE.search(lowered)),
        years=frozenset(lexicon.YEAR.findall(text)),
        figures=frozenset(_NUMBER.findall(text)),
    )


@dataclass(frozen=True)
class Draft:
    text: str
    citations: list[Citation]
    cited: list[Chunk]
    refused: bool
    confidence: Confidence


def confidence(score: float) -> Confidence:
    score = round(min(max(score, 0.0), 1.0), 3)
    return Confidence(score=score, label="high" if score >= 0.7 else "medium" if score >= 0.45 else "low")


def fixed(text: str, *, refused: bool, score: float) -> Draft:
    return Draft(text=text, citations=[], cited=[], refused=refused, confidence=confidence(score))


def with_low_note(text: str, conf: Confidence, why: str) -> str:
    return f"{text}\n\n_Low confidence: {why}_" if conf.label == "low" else text


class Composer:
    def __init__(self, ratings: Ratings, chunk_of: Callable[[str], Chunk | None]) -> None:
        self.ratings = ratings
        self.chunk_of = chunk_of

    def _cite_ref(self, book: CitationBook, ref: str, quote: str = "") -> str:
        """The marker for the rating or capability `ref` ("" if the index lacks it)."""
        chunk = self.chunk_of(ref)
        return book.cite(chunk, quote=quote) if chunk is not None else ""

    def _reason(self, book: CitationBook, reason: Reason) -> str:
        quote = reason.text.split(": ", 1)[-1]
        return attach(reason.text, self._cite_ref(book, reason.ref, quote))

    def _caveat(self, book: CitationBook, caveat: Reason, mode: Mode) -> str:
        text = caveat.text
        if caveat.ref.startswith("rating:") and "/5" not in text:
            dimension = Dimension(caveat.ref.rsplit(":", 1)[-1])
            rating = self.ratings.rating(mode, dimension)
            label = self.ratings.dimensions[dimension].label.lower()
            text = f"{text.rstrip('.')} ({mode.label} is rated {rating.score}/5 for {label})."
        return attach(text, self._cite_ref(book, caveat.ref))

    # recommend ------------------------------------------------------------------------------------------------
    def recommend(
        self,
        understanding: Understanding,
        rec: Recommendation,
        passages: Sequence[Passage] = (),
        weights: Mapping[str, float] | None = None,
    ) -> Draft:
        """The pick and why, the runner-up and what would make it win, caveats, exclusions, assumptions; plus the
        best sentence the sources say about the pick, from `passages` retrieved for it."""
        book = CitationBook()
        parts: list[str] = []
        focus = understanding.focus
        if focus is not None and rec.top != focus:  # the first pick: the lead below says so
            parts.append(self._focus(book, rec, focus))
        if not rec.ranking:
            parts.append("No mode meets every hard constraint you stated.")
        else:
            top = rec.ranking[0]
            lead = f"**{top.mode.label}** is the best fit for what you described (score {top.score:.2f} of 1"
            lead += (
                f"; {rec.ranking[1].mode.label} follows at {rec.ranking[1].score:.2f})."
                if len(rec.ranking) > 1
                else ")."
            )
            parts.append(lead)
            if top.reasons:
                parts.append(
                    f"Why {top.mode.label}:\n" + "\n".join(f"- {self._reason(book, r)}" for r in top.reasons[:4])
                )
            if len(rec.ranking) > 1 and rec.ranking[1].mode != focus:
                parts.append(self._runner_up(book, rec, rec.ranking[1]))
            if top.caveats:
                lines = [f"- {self._caveat(book, c, top.mode)}" for c in top.caveats[:4]]
                parts.append(f"Caveats for {top.mode.label}:\n" + "\n".join(lines))
        if rec.excluded:
            lines = [f"- {e.mode.label}: {self._reason(book, e.reason)}" for e in rec.excluded]
            parts.append("Excluded:\n" + "\n".join(lines))
        if not rec.ranking and rec.counterfactuals:
            parts.append("What would change this:\n" + "\n".join(f"- {c.text}" for c in rec.counterfactuals))
        if rec.assumptions:
            parts.append("Assumed: " + " ".join(rec.assumptions))
        stated = bool(understanding.requirements.stated())
        score = (0.5 + 0.5 * min(1.0, rec.margin / 0.12)) if rec.ranking else 0.3
        conf = confidence(score if stated else score * 0.6)
        why = "you stated no requirements, so this is the default ranking." if not stated else "the top two are close."
        text = with_low_note("\n\n".join(parts), conf, why)
        return Draft(text=text, citations=book.citations(), cited=book.chunks, refused=False, confidence=conf)

    def _runner_up(self, book: CitationBook, rec: Recommendation, second: RankedMode) -> str:
        text = f"**Runner-up: {second.mode.label}.**"
        if second.reasons:
            text += f" {self._reason(book, second.reasons[0])}"
        change = next((c for c in rec.counterfactuals if c.mode == second.mode), None)
        text += (
            f" {change.text}"
            if change
            else f" No single change to your requirements would put {second.mode.label} first."
        )
        return text

    def _focus(self, book: CitationBook, rec: Recommendation, focus: Mode) -> str:
        excluded = next((e for e in rec.excluded if e.mode == focus), None)
        if excluded is not None:
            return f"**{focus.label}** is excluded: {self._reason(book, excluded.reason)}"
        ranked = next(r for r in rec.ranking if r.mode == focus)
        top = rec.ranking[0]
        lines = [
            f"**{focus.label}** ranks {ranked.rank} of {len(rec.ranking)} (score {ranked.score:.2f} against "
            f"{top.score:.2f} for {top.mode.label})."
        ]
        lines += [f"- {self._caveat(book, c, focus)}" for c in ranked.caveats[:3]]
        change = next((c for c in rec.counterfactuals if c.mode == focus), None)
        lines.append(change.text if change else _no_change(focus))
        return "\n".join(lines)

    # compare --------------------------------------------------------------------------------------------------
    def compare(
        self,
        understanding: Understanding,
        modes: Sequence[Mode],
        passages: dict[Mode, list[Passage]],
        weights: Mapping[str, float],
    ) -> Draft:
        book = CitationBook()
        dimensions = list(understanding.dimensions) or list(Dimension)
        header = "| Dimension | " + " | ".join(m.label for m in modes) + " |"
        rows = [header, "|---|" + "---|" * len(modes)]
        for dimension in dimensions:
            label = self.ratings.dimensions[dimension].label
            cells = []
            for mode in modes:
                rating = self.ratings.rating(mode, dimension)
                cells.append(attach(f"{rating.score}/5", self._cite_ref(book, rating_ref(mode, dimension))))
            rows.append(f"| {label} | " + " | ".join(cells) + " |")
        parts = ["\n".join(rows)]
        leaders = []
        for dimension in dimensions:
            best = max(self.ratings.rating(m, dimension).score for m in modes)
            names = [m.label for m in modes if self.ratings.rating(m, dimension).score == best]
            leaders.append(f"{self.ratings.dimensions[dimension].label.lower()}: {' and '.join(names)}")
        parts.append("Highest rated on " + "; ".join(leaders) + ".")
        lines = []
        for mode in modes:
            for dimension, role in self._explaining_dimensions(mode, dimensions):
                rating = self.ratings.rating(mode, dimension)
                label = self.ratings.dimensions[dimension].label.lower()
                marker = self._cite_ref(book, rating_ref(mode, dimension), rating.rationale)
                lines.append(
                    f"- **{mode.label}**, {role}{label} ({rating.score}/5): {attach(rating.rationale, marker)}"
                )
        taken: set[str] = set()
        for mode in modes:
            cited = {chunk.id for chunk in book.chunks}  # a rating already in the table says nothing new
            fresh = [passage for passage in passages.get(mode, []) if passage.chunk.id not in cited]
            sentence = _best_sentence(fresh, understanding, weights, mode, taken)
            if sentence is not None:
                passage, text = sentence
                taken.add(text)
                lines.append(f"- **{mode.label}**: {attach(text, book.cite(passage.chunk, quote=text))}")
        if lines:
            parts.append("What explains the differences:\n" + "\n".join(lines))
        covered = sum(1 for m in modes if passages.get(m))
        conf = confidence(0.6 + 0.3 * covered / max(len(modes), 1))
        return Draft(
            text="\n\n".join(parts), citations=book.citations(), cited=book.chunks, refused=False, confidence=conf
        )

    def _explaining_dimensions(self, mode: Mode, dimensions: list[Dimension]) -> list[tuple[Dimension, str]]:
        """All asked dimensions when there are one or two, else the mode's strongest and weakest of them."""
        if len(dimensions) <= 2:
            return [(d, "") for d in dimensions]
        ordered = sorted(dimensions, key=lambda d: -self.ratings.rating(mode, d).score)  # stable: ties keep order
        return [(ordered[0], "strongest on "), (ordered[-1], "weakest on ")]

    # explain --------------------------------------------------------------------------------------------------
    def explain(self, understanding: Understanding, passages: Sequence[Passage], weights: Mapping[str, float]) -> Draft:
        """The best sentences, cited; "I don't know" when they do not answer (`weights`: question words' IDF)."""
        picked = select_sentences(passages, understanding, weights)
        best = max((score for _, _, score in picked), default=0.0)
        if not picked or answerability(picked, weights) < ANSWER_BAR:
            return fixed(UNKNOWN_TEXT, refused=True, score=0.2)
        book = CitationBook()
        text = " ".join(attach(sentence, book.cite(passage.chunk, quote=sentence)) for passage, sentence, _ in picked)
        top = passages[0].similarity if passages else 0.0
        conf = confidence(0.7 * (best - 0.3) / 0.35 + 0.3 * (top - 0.3) / 0.4)
        text = with_low_note(text, conf, "the closest passages only partly match the question.")
        return Draft(text=text, citations=book.citations(), cited=book.chunks, refused=False, confidence=conf)

    # what changed -------------------------------------------------------------------------------------------
    def changes(self, understanding: Understanding, passages: Sequence[Passage], weights: Mapping[str, float]) -> Draft:
        """What changed in the years the question names (else in the newest year the passages name): the events
        dated then, about the asked modes if any, one per date, from the passages that record that year (a
        timeline section named after it) if any, releases and status changes first, told in date order."""
        question = understanding.resolved_question
        years = frozenset(lexicon.YEAR.findall(question)) or frozenset(filter(None, [newest_year(passages)]))
        modes = set(understanding.modes)
        records = [p for p in passages if years & _period(p.chunk.section)]
        ranked: list[tuple[float, int, str, str, Passage]] = []
        for rank, passage in enumerate(records or passages):
            for sentence in passage.sentences:
                read, when = _read(sentence.text), _when(sentence.text)
                named = set(lexicon.find_modes(read.lowered))
                if when[:4] in years and read.eligible and (not modes or named & modes):
                    status = TOPIC_BONUS if Dimension.MATURITY in read.dimensions else 0.0
                    ranked.append((-(sentence.score + status), rank, sentence.text, when, passage))
        events: dict[str, tuple[str, str, Passage]] = {}
        for _, _, text, when, passage in sorted(ranked, key=lambda event: event[:3]):
            # one event per date, its best-matching sentence (a year alone dates many events)
            events.setdefault(when if len(when) > len("2025") else text, (when, text, passage))
        if not events:
            return self.explain(understanding, passages, weights)
        book = CitationBook()
        told = sorted(list(events.values())[:CHANGE_SENTENCES], key=lambda event: event[:2])
        lines = [f"- {attach(text, book.cite(passage.chunk, quote=text))}" for _, text, passage in told]
        about = f" about {' and '.join(m.label for m in understanding.modes)}" if modes else ""
        lead = f"What the sources record{about} for {' and '.join(sorted(years))}, in date order:"
        return Draft(
            text=lead + "\n" + "\n".join(lines),
            citations=book.citations(),
            cited=book.chunks,
            refused=False,
            confidence=confidence(0.5 + 0.1 * len(lines)),
        )

    # strong and weak points ---------------------------------------------------------------------------------
    def describe(
        self,
        understanding: Understanding,
        profiles: Sequence[Profile],
        passages: Sequence[Passage],
        weights: Mapping[str, float],
    ) -> Draft:
        """Each mode's weak or strong points as asked (from its ratings, caveats and capability facts), then the
        sentences of the retrieved passages that best say so."""
        book = CitationBook()
        parts = []
        for profile, aspect in itertools.product(profiles, understanding.aspects):
            weak = aspect is Aspect.WEAKNESSES
            every = profile.weaknesses if weak else profile.strengths
            reasons = [r for r in every if _about(r, understanding.dimensions)]  # "security weaknesses": those only
            if reasons:
                lines = [
                    f"- {self._reason(book, r) if ': ' in r.text else self._caveat(book, r, profile.mode)}"
                    for r in reasons
                ]
                heading = f"**{profile.mode.label}: {'weak' if weak else 'strong'} points**"
                parts.append(heading + "\n" + "\n".join(lines))
        if not parts:  # none on what was asked ("the maturity strengths of proxyless gRPC"): what the sources say
            return self.explain(understanding, passages, weights)
        cited = {chunk.id for chunk in book.chunks}  # the sources add what the points have not said
        fresh = [passage for passage in passages if passage.chunk.id not in cited]
        picked = select_sentences(fresh, understanding, weights)[:ASPECT_SENTENCES]
        if picked and answerability(picked, weights) >= ANSWER_BAR:
            quoted = (attach(text, book.cite(passage.chunk, quote=text)) for passage, text, _ in picked)
            parts.append("From the sources: " + " ".join(quoted))
        return Draft(
            text="\n\n".join(parts),
            citations=book.citations(),
            cited=book.chunks,
            refused=False,
            confidence=confidence(RULE_FACTS_CONFIDENCE),
        )


def _about(reason: Reason, dimensions: Sequence[Dimension]) -> bool:
    """Whether `reason` speaks of one of `dimensions` (any reason, when none is asked): a rating by its
    dimension, a capability fact by its words."""
    if not dimensions:
        return True
    if reason.ref.startswith("rating:"):
        return Dimension(reason.ref.rsplit(":", 1)[-1]) in dimensions
    return not _read(reason.text).dimensions.isdisjoint(dimensions)


def _no_change(mode: Mode) -> str:
    return f"No single change to your requirements would put {mode.label} first."


def answerability(picked: Sequence[tuple[Passage, str, float]], weights: Mapping[str, float]) -> float:
    """How well the picked sentences answer a question whose words have these IDF `weights` (negative: a name
    the corpus never mentions): the best sentence's similarity plus its share of the question's weight, plus the
    share all picked sentences cover, minus the share of unknown names (see ANSWER_BAR)."""
    total = sum(abs(weight) for weight in weights.values())
    if not picked or not total:
        return max((score for _, _, score in picked), default=0.0)

    def covered(words: AbstractSet[str]) -> float:
        return sum(weight for term, weight in weights.items() if weight > 0 and term in words) / total

    sentences = [(score, _read(text).words) for _, text, score in picked]
    best = max(score + SENTENCE_COVERAGE_WEIGHT * covered(words) for score, words in sentences)
    together = covered(set().union(*(words for _, words in sentences)))
    unknown = sum(-weight for weight in weights.values() if weight < 0) / total
    return best + COVERAGE_WEIGHT * together - UNSEEN_WEIGHT * unknown


def select_sentences(
    passages: Sequence[Passage],
    understanding: Understanding,
    weights: Mapping[str, float],
    *,
    limit: int = EXPLAIN_SENTENCES,
) -> list[tuple[Passage, str, float]]:
    """The best `limit` sentences: similarity to the question, nudged by mode match, by the question's words they
    carry (weighted by rarity, `weights`) and by the asked dimension; no near-repeats."""
    wanted_modes = set(understanding.modes)
    positive = [(term, weight) for term, weight in weights.items() if weight > 0]
    total = sum(weight for _, weight in positive) or 1.0
    topics = frozenset(understanding.dimensions)
    measured = bool(_MEASURED & topics)
    question = understanding.resolved_question.lower()
    status = Dimension.MATURITY in topics and not _PAST.search(question)
    years = set(lexicon.YEAR.findall(question))
    if not years and (status or _NOW.search(question)):
        years = {year for year in [newest_year(passages)] if year}
    asks_when = _WHEN.match(question) is not None  # "when did ambient go GA?" (not "when should we use it?")
    asked = _WHAT_IS.match(question)
    subject = re.escape(asked["subject"]) if asked else ""  # "a waypoint is", "an ambient waypoint is"
    definition = re.compile(rf"(?:an?\s+|the\s+)?(?:[\w-]+\s+)?{subject}s?\s+(?:is|are)\b") if asked else None
    candidates: list[_Candidate] = []
    for rank, passage in enumerate(passages):
        chunk_modes = set(passage.chunk.modes)
        specific = 0 < len(chunk_modes) < len(Mode)
        nudge = -0.01 * rank
        if wanted_modes and specific:
            nudge += 0.05 if chunk_modes & wanted_modes else -0.08
        heading = _read(f"{passage.chunk.title} {passage.chunk.section}").words
        for sentence in passage.sentences:
            read = _read(sentence.text)
            if not read.eligible:
                continue
            carried = sum(weight for term, weight in positive if term in read.words)
            headed = sum(weight for term, weight in positive if term not in read.words and term in heading)
            overlap = (carried + HEADING_SHARE * headed) / total
            on_topic = TOPIC_BONUS if read.dimensions & topics else 0.0
            if measured and read.measured:
                on_topic += FIGURE_BONUS
            if years & read.years:
                on_topic += DATED_BONUS
            if asks_when and not read.years:
                on_topic -= UNDATED_PENALTY
            if definition and definition.match(read.lowered):
                on_topic += DEFINITION_BONUS
            score = sentence.score + nudge + OVERLAP_WEIGHT * overlap + on_topic
            candidates.append((-score, rank, sentence.text, sentence.score, passage, sentence))
    candidates.sort(key=lambda c: c[:3])  # best first; ties by passage rank, then text: deterministic
    chosen: list[tuple[Passage, str, float]] = []
    said: list[ScoredSentence] = []
    used: Counter[str] = Counter()
    while candidates and len(chosen) < limit:
        index = _next_best(candidates, used)
        _, _, _, raw, passage, sentence = candidates.pop(index)
        if any(repeats(sentence, earlier) for earlier in said):
            continue
        chosen.append((passage, sentence.text, raw))
        said.append(sentence)
        used[passage.chunk.id] += 1
    return chosen


def _next_best(candidates: Sequence[_Candidate], used: Counter[str]) -> int:
    """The position of the best of `candidates` (sorted best first) once each loses SAME_CHUNK_PENALTY per
    sentence already taken from its chunk: the scan stops at the first one that could not win even unpenalised."""
    best, best_key = 0, (math.inf, 0, "")
    for index, (negated, rank, text, _, passage, _) in enumerate(candidates):
        if (negated, rank, text) > best_key:
            break
        key = (negated + SAME_CHUNK_PENALTY * used[passage.chunk.id], rank, text)
        if key < best_key:
            best, best_key = index, key
    return best


def repeats(sentence: ScoredSentence, earlier: ScoredSentence) -> bool:
    """Whether `sentence` says again what `earlier` said (the corpus states some facts in several documents):
    nearly the same words, nearly the same meaning, or a close meaning with the same figures and at most one
    figure more."""
    read, before = _read(sentence.text), _read(earlier.text)
    if len(read.words & before.words) / max(len(read.words | before.words), 1) > SAME_WORDS:
        return True
    similarity = float(sentence.vector @ earlier.vector)
    if similarity >= SAME_MEANING:
        return True
    return (
        similarity >= CLOSE_MEANING and bool(read.figures & before.figures) and len(read.figures - before.figures) <= 1
    )


def _period(section: str) -> frozenset[str]:
    """The years a section records when its heading is a period ("2025 (January-June)", "2017-2021")."""
    heading = section.rsplit(" > ", 1)[-1]
    period = _PERIOD.match(heading)
    if period is None:
        return frozenset()
    first, last = int(period["first"]), int(period["last"] or period["first"])
    return frozenset(str(year) for year in range(first, last + 1))


def _when(sentence: str) -> str:
    """When the event `sentence` tells of happened: its first date that is not a reading date ("read on
    2026-04-15", "as of ..."), as "2025-07-28", "2025-10" for "October 2025" or "2023"; "" if it has none."""
    lowered = sentence.lower()
    for date in _DATE.finditer(lowered):
        if _READ.search(lowered[: date.start()]):
            continue
        if date["month"]:
            return f"{date['year']}-{_MONTHS.index(date['month']) + 1:02d}"
        return str(date["iso"] or date["bare"])
    return ""


def newest_year(passages: Sequence[Passage]) -> str | None:
    """The newest year any sentence of `passages` names."""
    return max((year for p in passages for s in p.sentences for year in _read(s.text).years), default=None)


def _best_sentence(
    passages: Sequence[Passage],
    understanding: Understanding,
    weights: Mapping[str, float],
    mode: Mode,
    taken: set[str],
) -> tuple[Passage, str] | None:
    """The best sentence about `mode` alone: from a passage specific to it, naming it, not used yet."""
    specific = [p for p in passages if mode in p.chunk.modes and len(p.chunk.modes) < len(Mode)]
    for passage, text, score in select_sentences(specific, understanding, weights):
        named = lexicon.find_modes(text.lower())
        if score >= ANSWER_FLOOR + 0.08 and text not in taken and named[:1] == [mode]:
            return passage, text
    return None
