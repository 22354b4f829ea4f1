"""Deterministic answers in clear prose, from the rule output and retrieved passages (no language model).

Every cited segment is built to be supported by construction: sentences quoted from a passage, or statements
of the rating or capability fact they cite.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

from assistant.domain.answers import Citation, Confidence
from assistant.domain.conversation import Aspect, Kind, Reading
from assistant.domain.documents import Chunk, ChunkKind, Passage
from assistant.domain.features import FeatureStatus, feature_ref
from assistant.domain.ratings import Ratings, rating_ref
from assistant.domain.recommendation import Profile, RankedMode, Reason, Recommendation
from assistant.domain.text import terms
from assistant.domain.vocabulary import Dimension, Mode
from assistant.responder.citations import CitationBook, attach
from assistant.responder.evidence import (
    ANSWER_BAR,
    ASPECT_SENTENCES,
    CHANGE_SENTENCES,
    RULE_FACTS_CONFIDENCE,
    TOPIC_BONUS,
    answerability,
    best_sentence_about,
    event_date,
    figure_on_subject,
    newest_year,
    opens_entry,
    period_of,
    read_sentence,
    select_sentences,
)
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
    def __init__(
        self,
        ratings: Ratings,
        chunk_of: Callable[[str], Chunk | None],
        names_in: Callable[[str], set[str]],
        section_of: Callable[[Chunk], Sequence[tuple[Chunk, str]]],
    ) -> None:
        self.ratings = ratings
        self.chunk_of = chunk_of
        self.names_in = names_in  # the words of a text that the corpus writes as names
        self.section_of = section_of  # every sentence of a chunk's section, in order, each with its chunk
        entries = ratings.supersessions
        self.stale: Callable[[str], bool] = entries.is_stale if entries is not None else lambda _: False

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
        reading: Reading,
        rec: Recommendation,
        passages: Sequence[Passage] = (),
        weights: Mapping[str, float] | None = None,
    ) -> Draft:
        """The pick and why, the runner-up and what would make it win, caveats, exclusions, assumptions; plus the
        best sentence the sources say about the pick, from `passages` retrieved for it."""
        book = CitationBook()
        parts: list[str] = []
        focus = reading.focus
        if focus is not None and rec.top != focus:  # the first pick: the lead below says so
            parts.append(self._focus(book, rec, focus))
        moved = _what_moved(reading, rec)
        if moved:
            parts.append(moved)
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
        stated = bool(reading.requirements.stated())
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
        reading: Reading,
        modes: Sequence[Mode],
        passages: dict[Mode, list[Passage]],
        weights: Mapping[str, float],
    ) -> Draft:
        book = CitationBook()
        dimensions = list(reading.dimensions) or list(Dimension)
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
        end = min if reading.lowest else max  # "which is least secure?" asks for the bottom of the table
        for dimension in dimensions:
            best = end(self.ratings.rating(m, dimension).score for m in modes)
            names = [m.label for m in modes if self.ratings.rating(m, dimension).score == best]
            leaders.append(f"{self.ratings.dimensions[dimension].label.lower()}: {' and '.join(names)}")
        parts.append(("Lowest" if reading.lowest else "Highest") + " rated on " + "; ".join(leaders) + ".")
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
            sentence = best_sentence_about(fresh, reading, weights, mode, taken, self.stale)
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
    def explain(self, reading: Reading, passages: Sequence[Passage], weights: Mapping[str, float]) -> Draft:
        """The best sentences, cited; "I don't know" when they do not answer (`weights`: question words' IDF)."""
        picked = select_sentences(passages, reading, weights, stale=self.stale)
        best = max((score for _, _, score in picked), default=0.0)
        if not picked or answerability(picked, weights) < ANSWER_BAR:
            return fixed(UNKNOWN_TEXT, refused=True, score=0.2)
        if reading.kind is Kind.FIGURE and not figure_on_subject(
            picked, weights, self.names_in(reading.resolved_question)
        ):
            return fixed(UNKNOWN_TEXT, refused=True, score=0.2)  # figures, but none about what was asked
        quoted = [(passage.chunk, sentence) for passage, sentence, _ in picked]
        if reading.kind is Kind.DEFINITION and opens_entry(picked[0][0].chunk, reading):
            quoted = self._entry_continued(quoted)
        book = CitationBook()
        text = " ".join(attach(sentence, book.cite(chunk, quote=sentence)) for chunk, sentence in quoted)
        top = passages[0].similarity if passages else 0.0
        conf = confidence(0.7 * (best - 0.3) / 0.35 + 0.3 * (top - 0.3) / 0.4)
        text = with_low_note(text, conf, "the closest passages only partly match the question.")
        return Draft(text=text, citations=book.citations(), cited=book.chunks, refused=False, confidence=conf)

    def _entry_continued(self, quoted: list[tuple[Chunk, str]]) -> list[tuple[Chunk, str]]:
        """`quoted` with the sentence that follows the first in its entry ("the grpc-agent is ...", then what it
        does) put second, the last one dropped to keep the length."""
        first_chunk, first = quoted[0]
        entry = self.section_of(first_chunk)
        texts = [text for _, text in entry]
        after = entry[texts.index(first) + 1 :] if first in texts else []
        if not after or after[0][1] in {text for _, text in quoted}:
            return quoted
        return [quoted[0], after[0], *quoted[1:-1]] if len(quoted) > 1 else [quoted[0], after[0]]

    # what changed -------------------------------------------------------------------------------------------
    def changes(self, reading: Reading, passages: Sequence[Passage], weights: Mapping[str, float]) -> Draft:
        """What changed in the years the question names (else in the newest year the passages name): the events
        dated then, about the asked modes if any, one per date, from the passages that record that year (a
        timeline section named after it) if any, releases and status changes first, told in date order."""
        question = reading.resolved_question
        years = frozenset(lexicon.YEAR.findall(question)) or frozenset(filter(None, [newest_year(passages)]))
        modes = set(reading.modes)
        records = [p for p in passages if years & period_of(p.chunk.section)]
        ranked: list[tuple[float, int, str, str, Passage]] = []
        for rank, passage in enumerate(records or passages):
            for sentence in passage.sentences:
                read, when = read_sentence(sentence.text), event_date(sentence.text)
                named = set(lexicon.find_modes(read.lowered))
                if when[:4] in years and read.eligible and (not modes or named & modes):
                    status = TOPIC_BONUS if Dimension.MATURITY in read.dimensions else 0.0
                    ranked.append((-(sentence.score + status), rank, sentence.text, when, passage))
        events: dict[str, tuple[str, str, Passage]] = {}
        for _, _, text, when, passage in sorted(ranked, key=lambda event: event[:3]):
            # one event per date, its best-matching sentence (a year alone dates many events)
            events.setdefault(when if len(when) > len("2025") else text, (when, text, passage))
        if not events or any(weight < 0 for weight in weights.values()):  # "how many CVEs in 2023?": not a record
            return self.explain(reading, passages, weights)
        told = sorted(list(events.values())[:CHANGE_SENTENCES], key=lambda event: event[:2])
        book = CitationBook()
        lines = [f"- {attach(text, book.cite(passage.chunk, quote=text))}" for _, text, passage in told]
        about = f" about {' and '.join(m.label for m in reading.modes)}" if modes else ""
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
        reading: Reading,
        profiles: Sequence[Profile],
        passages: Sequence[Passage],
        weights: Mapping[str, float],
    ) -> Draft:
        """Each mode's weak or strong points as asked (from its ratings, caveats and capability facts), then the
        sentences of the retrieved passages that best say so."""
        book = CitationBook()
        parts = []
        for profile, aspect in itertools.product(profiles, reading.aspects):
            weak = aspect is Aspect.WEAKNESSES
            every = profile.weaknesses if weak else profile.strengths
            reasons = [r for r in every if _about(r, reading.dimensions)]  # "security weaknesses": those only
            if reasons:
                lines = [f"- {self._point(book, r, profile.mode)}" for r in reasons]
                heading = f"**{profile.mode.label}: {'weak' if weak else 'strong'} points**"
                parts.append(heading + "\n" + "\n".join(lines))
        if not parts:  # none on what was asked ("the maturity strengths of proxyless gRPC"): what the sources say
            return self.explain(reading, passages, weights)
        self._add_evidence(parts, book, reading, passages, weights)  # what the points have not said
        return Draft(
            text="\n\n".join(parts),
            citations=book.citations(),
            cited=book.chunks,
            refused=False,
            confidence=confidence(RULE_FACTS_CONFIDENCE),
        )

    # overview ------------------------------------------------------------------------------------------------
    def overview(
        self,
        reading: Reading,
        defining: Mapping[Mode, Sequence[Passage]],
        profiles: Sequence[Profile],
        passages: Sequence[Passage],
        weights: Mapping[str, float],
    ) -> Draft:
        """Each mode: what it is (its defining sentence), its status (the maturity rating); for one mode also
        its two strongest and weakest points and then the sources' best sentences on the question."""
        book = CitationBook()
        parts = []
        for profile in profiles:
            mode = profile.mode
            found = _defining(defining.get(mode, ()), reading, mode.label, mode=mode)
            lead = f"**{mode.label}**"
            lead += f": {attach(found[1], book.cite(found[0].chunk, quote=found[1]))}" if found else "."
            rating = self.ratings.rating(mode, Dimension.MATURITY)
            marker = self._cite_ref(book, rating_ref(mode, Dimension.MATURITY), rating.rationale)
            lines = [lead, f"Status: rated {rating.score}/5 for maturity. {attach(rating.rationale, marker)}"]
            if len(profiles) == 1:
                lines += ["Strong points:", *(f"- {self._reason(book, r)}" for r in profile.strengths[:2])]
                lines += ["Weak points:", *(f"- {self._point(book, r, mode)}" for r in profile.weaknesses[:2])]
            parts.append("\n".join(lines))
        if len(profiles) == 1:
            self._add_evidence(parts, book, reading, passages, weights)
        return Draft("\n\n".join(parts), book.citations(), book.chunks, False, confidence(RULE_FACTS_CONFIDENCE))

    # why -------------------------------------------------------------------------------------------------------
    def why(self, reading: Reading, passages: Sequence[Passage], weights: Mapping[str, float]) -> Draft:
        """The reason: for a rated mode and dimension ("why is ambient cheaper?"), each rating with its rationale,
        then the sources' best sentences (reasons first: see `select_sentences`); else those sentences alone."""
        book = CitationBook()
        lines = [self._rated(book, mode, dimension) for mode in reading.modes for dimension in reading.dimensions]
        if not lines:
            return self.explain(reading, passages, weights)
        parts = [lines[0] if len(lines) == 1 else "\n".join(f"- {line}" for line in lines)]
        unrated = [p for p in passages if not p.chunk.id.startswith("rating:")]  # the ratings are given above
        self._add_evidence(parts, book, reading, unrated, weights)
        return Draft("\n\n".join(parts), book.citations(), book.chunks, False, confidence(RULE_FACTS_CONFIDENCE))

    def _rated(self, book: CitationBook, mode: Mode, dimension: Dimension) -> str:
        """ "Ambient is rated 4/5 for resource efficiency: <rationale> [n]"."""
        rating = self.ratings.rating(mode, dimension)
        label = self.ratings.dimensions[dimension].label.lower()
        marker = self._cite_ref(book, rating_ref(mode, dimension), rating.rationale)
        return f"{mode.label} is rated {rating.score}/5 for {label}: {attach(rating.rationale, marker)}"

    # yes or no ---------------------------------------------------------------------------------------------
    def polar(
        self,
        reading: Reading,
        cells: Sequence[tuple[str, Mode]],
        passages: Sequence[Passage],
        weights: Mapping[str, float],
    ) -> Draft:
        """A verdict first, decided by structured knowledge: the feature matrix's cells for the features and modes
        asked, else the ratings of the modes on the dimensions asked ("is ambient production ready?"); then the
        sources' best sentences. With neither, no verdict: what the sources say, or "I don't know"."""
        book = CitationBook()
        lines = []
        asked = _asked_status(reading.resolved_question.lower())
        for name, mode in cells:  # cells are asked only of a corpus with a feature matrix
            feature = self.ratings.features.features[name] if self.ratings.features is not None else None
            if feature is None:
                continue
            cell = feature.modes[mode]
            said = f"{feature.label} with {mode.label}: {cell.status.label} since {cell.since}. {cell.note}"
            marker = self._cite_ref(book, feature_ref(name, mode), cell.note)
            lines.append((_verdict(cell.status, asked), attach(said, marker)))
        rated = not lines and not asked  # a 1-5 rating says nothing of "is it still beta?"
        for mode, dimension in itertools.product(reading.modes, reading.dimensions) if rated else []:
            score = self.ratings.rating(mode, dimension).score
            lines.append((RATED[min(max(score, 2), 4)], self._rated(book, mode, dimension)))
        if not lines:
            explained = self.explain(reading, passages, weights)
            if explained.refused:
                return explained
            text = f"No structured fact of mine decides this; what the sources say: {explained.text}"
            return Draft(text, explained.citations, explained.cited, False, explained.confidence)
        if len(lines) == 1:
            parts = [f"{lines[0][0]}: {lines[0][1]}"]
        else:
            parts = ["It depends on the mode and feature:\n" + "\n".join(f"- {v}: {text}" for v, text in lines)]
        self._add_evidence(parts, book, reading, passages, weights)
        return Draft("\n\n".join(parts), book.citations(), book.chunks, False, confidence(RULE_FACTS_CONFIDENCE))

    # the difference between two things -----------------------------------------------------------------
    def difference(
        self,
        reading: Reading,
        sides: tuple[str, str],
        pools: Mapping[str, Sequence[Passage]],
        passages: Sequence[Passage],
        weights: Mapping[str, float],
    ) -> Draft:
        """What each side is, one line each (the sentence of its pool, the passages found for what it is before
        those found for the question, that best defines it by the words that set it apart from the other side),
        then the sentence of `passages` that best tells them apart (one speaking of both, if the sources have
        it)."""
        book = CitationBook()
        lines = []
        taken: set[str] = set()
        first, second = sides
        for side, other in ((first, second), (second, first)):
            defined = _side_sentence(pools[side], reading, side, other, taken)
            if defined is not None:
                taken.add(defined[1])
                lines.append(f"- **{side}**: {attach(defined[1], book.cite(defined[0].chunk, quote=defined[1]))}")
        ranked = select_sentences(passages, reading, weights, limit=8, stale=self.stale)
        picked = [p for p in ranked if p[1] not in taken]
        if len(lines) < len(sides) or not picked:
            return self.explain(reading, passages, weights)

        def both(candidate: tuple[Passage, str, float]) -> tuple[float, bool]:
            """How far a sentence speaks of both sides, then whether it sets one against the other."""
            read = read_sentence(candidate[1])
            covered = min(
                _coverage(_distinct(first, second), read.words), _coverage(_distinct(second, first), read.words)
            )
            return covered, _CONTRAST.search(read.lowered) is not None

        # two modes asked ("... under sidecars, and under ambient?"): what sets the sides apart in each
        naming = {mode: [p for p in picked if mode in lexicon.find_modes(p[1].lower())] for mode in reading.modes}
        per_mode = [(mode, max(found, key=both)) for mode, found in naming.items() if found]
        if len(per_mode) < 2:
            passage, text, _ = max(picked, key=both)  # the first of the best: max keeps the earliest of equals
            lines.append(f"Key difference: {attach(text, book.cite(passage.chunk, quote=text))}")
        else:
            for mode, (passage, text, _) in per_mode:
                lines.append(f"In **{mode.label}**: {attach(text, book.cite(passage.chunk, quote=text))}")
        return Draft("\n".join(lines), book.citations(), book.chunks, False, confidence(0.75))

    # how to do it ----------------------------------------------------------------------------------------
    def procedure(
        self,
        reading: Reading,
        passages: Sequence[Passage],
        weights: Mapping[str, float],
    ) -> Draft:
        """The numbered steps of the section that best answers the question, in their order (a section split over
        several chunks is read whole through `section_of`): of the written sections whose best sentence comes
        within STEP_MARGIN of the best one's, the first in retrieval order (which weighs the question's rare words,
        as "authorization" in a heading) that has steps. Without one, the best sentences."""
        picked = select_sentences(passages, reading, weights, stale=self.stale)
        if not picked or answerability(picked, weights) < ANSWER_BAR:
            return fixed(UNKNOWN_TEXT, refused=True, score=0.2)
        sections: dict[tuple[str, str], tuple[float, Passage]] = {}
        for passage in (p for p in passages if p.chunk.kind in WRITTEN):  # a table cell has no steps to weigh
            closest = max((sentence.score for sentence in passage.sentences), default=0.0)
            key = (passage.chunk.doc_id, passage.chunk.section)
            if key not in sections or closest > sections[key][0]:
                sections[key] = (closest, passage)
        best = max((closest for closest, _ in sections.values()), default=0.0)
        for closest, passage in sorted(sections.values(), key=lambda found: found[1].rank):
            if closest < best - STEP_MARGIN:
                continue
            steps = _numbered_steps(self.section_of(passage.chunk))
            if len(steps) >= 2:
                book = CitationBook()
                lines = [attach(step, book.cite(chunk, quote=step)) for chunk, step in steps[:MAX_STEPS]]
                text = f"The steps, as {passage.chunk.title} gives them:\n" + "\n".join(lines)
                draft = Draft(text, book.citations(), book.chunks, False, confidence(0.8))
                cited = {chunk.id for chunk in book.chunks}
                rest = [p for p in passages if p.chunk.id not in cited]
                return self._with_evidence(draft, book, reading, rest, weights)
        return self.explain(reading, passages, weights)

    def _with_evidence(
        self,
        draft: Draft,
        book: CitationBook,
        reading: Reading,
        passages: Sequence[Passage],
        weights: Mapping[str, float],
    ) -> Draft:
        parts = [draft.text]
        self._add_evidence(parts, book, reading, passages, weights, limit=1)
        return Draft("\n\n".join(parts), book.citations(), book.chunks, draft.refused, draft.confidence)

    def _add_evidence(
        self,
        parts: list[str],
        book: CitationBook,
        reading: Reading,
        passages: Sequence[Passage],
        weights: Mapping[str, float],
        *,
        limit: int = ASPECT_SENTENCES,
    ) -> None:
        """The sources' best sentences on the question that the parts have not cited yet, if they answer it."""
        cited = {chunk.id for chunk in book.chunks}
        fresh = [passage for passage in passages if passage.chunk.id not in cited]
        picked = select_sentences(fresh, reading, weights, stale=self.stale)[:limit]
        if picked and answerability(picked, weights) >= ANSWER_BAR:
            quoted = (attach(text, book.cite(passage.chunk, quote=text)) for passage, text, _ in picked)
            parts.append("From the sources: " + " ".join(quoted))

    def _point(self, book: CitationBook, reason: Reason, mode: Mode) -> str:
        return self._reason(book, reason) if ": " in reason.text else self._caveat(book, reason, mode)


VERDICTS: dict[FeatureStatus, str] = {  # a matrix cell as the first word of a yes-or-no answer
    FeatureStatus.SUPPORTED: "Yes",
    FeatureStatus.PARTIAL: "Partly",
    FeatureStatus.EXPERIMENTAL: "Only experimentally",
    FeatureStatus.DEPRECATED: "No, it is deprecated",
    FeatureStatus.NOT_SUPPORTED: "No",
    FeatureStatus.NOT_APPLICABLE: "Not applicable",
    FeatureStatus.UNKNOWN: "The sources do not say",
}
# A question about a status other than support ("is it deprecated?", "still beta?") is answered yes when the cell
# has that status; each pattern names the statuses that answer it.
_ASKED_STATUSES = [
    (re.compile(r"\b(?:deprecated|removed|going away|retired|end[- ]of[- ]life|eol)\b"), {FeatureStatus.DEPRECATED}),
    (re.compile(r"\b(?:experimental|alpha|beta|preview)\b"), {FeatureStatus.EXPERIMENTAL}),
    (  # whether a gap or a problem exists ("do jobs hang?", "does it lack X?"): yes where the cell lacks it
        re.compile(
            r"(?<!without )(?<!no )\b(?:lacks?|lacking|missing|unsupported|not supported|broken|breaks?|hangs?|"
            r"stuck|fails?|problems?|issues?|gaps?|limitations?|can'?t|cannot|never[- ](?:finish|end|exit)\w*)\b"
        ),
        {FeatureStatus.NOT_SUPPORTED, FeatureStatus.DEPRECATED},
    ),
]


def _asked_status(question: str) -> frozenset[FeatureStatus]:
    """The statuses a question asks about, when it asks about one other than support."""
    return frozenset(status for pattern, statuses in _ASKED_STATUSES if pattern.search(question) for status in statuses)


def _verdict(status: FeatureStatus, asked: AbstractSet[FeatureStatus]) -> str:
    """A cell's status as the first words of the answer: to "is it supported?" by VERDICTS, to "is it
    deprecated?" yes or no, with the status it has instead."""
    if not asked or status in (FeatureStatus.UNKNOWN, FeatureStatus.PARTIAL):
        return VERDICTS[status]
    return "Yes" if status in asked else f"No, it is {status.label}"


RATED = {4: "Yes", 3: "Partly", 2: "Not really"}  # a rating of 4-5, 3 or 1-2 as a yes-or-no verdict
_CONTRAST = re.compile(r"\b(?:whereas|unlike|while|instead of|rather than|by contrast|in contrast)\b|, but\b")
_STEP = re.compile(r"^\s*(\d+)\.\s+(.*)$", re.MULTILINE)  # a numbered item of a text: one step of a procedure
STEP_PREFIX = 24  # the characters of a sentence that must open an item (the item may go on with more sentences)
MAX_STEPS = 8
WRITTEN = frozenset({ChunkKind.DOC, ChunkKind.USER})  # prose sections, not rows of the ratings or feature tables
STEP_MARGIN = 0.1  # how far below the best sentence a section's best may be for its steps to answer instead
SIDE_CANDIDATES = 12  # sentences weighed for each side of a difference


def _what_moved(reading: Reading, rec: Recommendation) -> str:
    """For a what-if, how the ranking before the change compares with the ranking after it."""
    if reading.kind is not Kind.WHAT_IF or reading.previous is None or not reading.previous.ranking:
        return ""
    before, after = list(reading.previous.ranking), [r.mode for r in rec.ranking]
    if before == after:
        return "With that change the ranking stays as it was."

    def order(modes: Sequence[Mode]) -> str:
        return ", ".join(m.label for m in modes) or "none"

    dropped = [m for m in before if m not in after]
    lead = f"With that change the ranking moves from {order(before)} to {order(after)}"
    return lead + (f" ({order(dropped)} now excluded)." if dropped else ".")


def _numbered_steps(sentences: Sequence[tuple[Chunk, str]]) -> list[tuple[Chunk, str]]:
    """The sentences of `sentences` that open a numbered item of their chunk's text ("3. Create the server ..."),
    in the order of the numbers (each number once)."""
    steps: dict[int, tuple[Chunk, str]] = {}
    items = {chunk.id: [(m[1], m[2]) for m in _STEP.finditer(chunk.text)] for chunk, _ in sentences}
    for chunk, text in sentences:
        number = next((int(n) for n, item in items[chunk.id] if item.startswith(text[:STEP_PREFIX])), None)
        if number is not None:
            steps.setdefault(number, (chunk, text))
    return [steps[number] for number in sorted(steps)]


def _defining(
    passages: Sequence[Passage],
    reading: Reading,
    subject: str,
    *,
    mode: Mode | None = None,
    taken: AbstractSet[str] = frozenset(),
) -> tuple[Passage, str] | None:
    """The sentence that best says what `subject` is, among `passages`: one that names it (`mode`, for a
    mode: one that names that mode first) and is not `taken` yet."""
    asked = replace(reading, kind=Kind.DEFINITION, components=(subject,), resolved_question=f"What is {subject}?")
    for passage, text, _ in select_sentences(passages, asked, {}, limit=6):
        named = lexicon.find_modes(text.lower())[:1] == [mode] if mode else subject.lower() in text.lower()
        if named and text not in taken:
            return passage, text
    return None


def _side_sentence(
    pool: Sequence[Passage], reading: Reading, side: str, other: str, taken: AbstractSet[str]
) -> tuple[Passage, str] | None:
    """The sentence of `pool` that best says what `side` is: among those that read as its definition, the first
    carrying most of the words that set it apart from `other` ("per-service" against "namespace-scoped") and
    fewest of the words that set `other` apart (a sentence on both belongs to the key difference), then most of
    the side's other words ("L7" together with "AuthorizationPolicy")."""
    asked = replace(reading, kind=Kind.DEFINITION, components=(side,), resolved_question=f"What is {side}?")
    mine, theirs, whole = _distinct(side, other), _distinct(other, side), frozenset(terms(side))
    ranked = [c for c in select_sentences(pool, asked, {}, limit=SIDE_CANDIDATES) if c[1] not in taken]
    scored = []
    for passage, text, _ in ranked:
        words = read_sentence(text).words
        scored.append(((_coverage(mine, words) - _coverage(theirs, words), _coverage(whole, words)), passage, text))
    best = max((score for score, _, _ in scored), default=(0.0, 0.0))
    chosen = next(((passage, text) for score, passage, text in scored if score == best), None)
    return chosen if best[0] else None


def _distinct(side: str, other: str) -> frozenset[str]:
    """The words of `side` that `other` does not use (all of them when it uses every one)."""
    own = frozenset(terms(side))
    return (own - frozenset(terms(other))) or own


def _coverage(wanted: AbstractSet[str], words: AbstractSet[str]) -> float:
    return len(wanted & words) / len(wanted) if wanted else 0.0


def _about(reason: Reason, dimensions: Sequence[Dimension]) -> bool:
    """Whether `reason` speaks of one of `dimensions` (any reason, when none is asked): a rating by its
    dimension, a capability fact by its words."""
    if not dimensions:
        return True
    if reason.ref.startswith("rating:"):
        return Dimension(reason.ref.rsplit(":", 1)[-1]) in dimensions
    return not read_sentence(reason.text).dimensions.isdisjoint(dimensions)


def _no_change(mode: Mode) -> str:
    return f"No single change to your requirements would put {mode.label} first."
