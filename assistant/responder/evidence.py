"""Evidence selection: which corpus sentences answer a question, how well, and what dates they carry.

Sentence ranking (similarity, the question's rarer words, the asked dimension, the kind of answer: a dated
sentence for "when", a defining one for "what is", a measured one for "how much"), answerability (whether the
best of them answer at all), and the dates of events. Composition per kind (`compose`) builds on these.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from assistant.domain.conversation import Kind, Reading
from assistant.domain.documents import Chunk, Passage, ScoredSentence
from assistant.domain.text import terms
from assistant.domain.vocabulary import Dimension, Mode
from assistant.understanding import lexicon

# An explanation is given only when a chosen sentence is close to the question and carries its rarer words, and
# the question names nothing the corpus never mentions (another product, an unknown release); see answerability.
# Calibrated on 57 answerable and 17 unanswerable questions (the public explain fixtures and probes); below the
# bar the answer is "I don't know from my sources".
ANSWER_FLOOR = 0.42
ANSWER_BAR = 0.60
SENTENCE_COVERAGE_WEIGHT = 0.2
COVERAGE_WEIGHT = 0.1
UNSEEN_WEIGHT = 0.5
EXPLAIN_SENTENCES = 5
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
DEFINITION_BONUS = 0.2  # "X is a/the ..." when the question is "what is X?" (not "X are declared as ...")
TITLED_BONUS = 0.1  # ... said in a section named after X ("waypoint proxy": a glossary entry), not in passing
REASON_BONUS = 0.06  # a sentence that gives a reason ("because", "so that"), when the question asks why
STALE_PENALTY = 0.05  # a statement a newer corpus sentence overtakes (corpus/supersessions.yaml)
_REASON = re.compile(
    r"\b(?:because|so that|therefore|as a result|which means|which is why|that is why|due to|thanks to|the reason)\b"
    r"|, so\b"
)
_FIGURE = re.compile(r"\d[\d.,]*\s?(?:vcpu|mcpu|mb|mib|gb|ms|%|rps|requests per second)\b")
_MEASURED = {Dimension.RESOURCE_EFFICIENCY, Dimension.PERFORMANCE}
# A sentence dated in the year the question names, or, when it asks about now, in the newest year the passages name.
DATED_BONUS = 0.06
UNDATED_PENALTY = 0.15  # a sentence with no date cannot answer "when did ambient go GA?"
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
# Words that ask for a measure rather than name what is measured, and how many of the others a figure must name.
MEASURE_WORDS = frozenset(
    terms(
        "number numbers figure figures cost costs price use uses usage amount big heavy light overhead much many "
        "cpu vcpu memory ram resource resources latency take takes"
    )
)
SUBJECT_TERMS = 1
# A measure the question names, and how a figure in it is written: the answer must carry that unit.
UNITS: dict[str, re.Pattern[str]] = {
    terms("seconds")[0]: re.compile(r"\d\s?(?:ms|s|seconds?|milliseconds?)\b"),
    terms("percent")[0]: re.compile(r"\d\s?(?:%|percent)"),
}
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
    reasons: bool  # gives a reason ("because ...")


# (-score, passage rank, text, similarity, passage, sentence): sorted, best first, ties broken deterministically
_Candidate = tuple[float, int, str, float, Passage, ScoredSentence]


@functools.lru_cache(maxsize=32_768)  # every answer reads the same corpus sentences again
def read_sentence(text: str) -> _Sentence:
    lowered = text.lower()
    return _Sentence(
        words=frozenset(terms(text)),
        eligible=len(text.split()) >= 6 and not text.endswith(":"),
        lowered=lowered,
        dimensions=frozenset(d for d, pattern in lexicon.DIMENSION_PATTERNS if pattern.search(lowered)),
        measured=bool(_FIGURE.search(lowered)),
        years=frozenset(lexicon.YEAR.findall(text)),
        figures=frozenset(_NUMBER.findall(text)),
        reasons=bool(_REASON.search(lowered)),
    )


def _subject(reading: Reading) -> str:
    """What a definition question defines (or an overview tells about): the component it names, else its words
    after "what is"."""
    asked = _WHAT_IS.match(reading.resolved_question.lower())
    named = [c.lower() for c in reading.components if not asked or c.lower() in asked["subject"]]
    if named:  # "what is the ztunnel DaemonSet on each node for?": the ztunnel
        return named[0]
    return str(asked["subject"]) if asked else ""


def figure_on_subject(
    picked: Sequence[tuple[Passage, str, float]], weights: Mapping[str, float], names: AbstractSet[str]
) -> bool:
    """Whether a picked sentence gives a figure about what the question measures: one carrying a number and the
    question's rarest word other than those that ask for a measure ("how much memory does Kuma use?" is not
    answered by Envoy's memory figures), the rarest of the `names` it uses if it uses any (not a verb: "ship")."""
    named = {term: weight for term, weight in weights.items() if weight > 0 and term not in MEASURE_WORDS}
    subject = set(sorted(named, key=lambda term: (term not in names, -named[term], term))[:SUBJECT_TERMS])
    units = [pattern for word, pattern in UNITS.items() if word in weights]  # "how many seconds": a time
    return any(
        read.figures and subject <= read.words and all(pattern.search(read.lowered) for pattern in units)
        for read in (read_sentence(text) for _, text, _ in picked)
    )


def answerability(picked: Sequence[tuple[Passage, str, float]], weights: Mapping[str, float]) -> float:
    """How well the picked sentences answer a question whose words have these IDF `weights` (negative: a name
    the corpus never mentions): the best sentence's similarity plus its share of the question's weight, plus the
    share all picked sentences cover, minus the share of unknown names (see ANSWER_BAR)."""
    total = sum(abs(weight) for weight in weights.values())
    if not picked or not total:
        return max((score for _, _, score in picked), default=0.0)

    def covered(words: AbstractSet[str]) -> float:
        return sum(weight for term, weight in weights.items() if weight > 0 and term in words) / total

    sentences = [(score, read_sentence(text).words) for _, text, score in picked]
    best = max(score + SENTENCE_COVERAGE_WEIGHT * covered(words) for score, words in sentences)
    together = covered(set().union(*(words for _, words in sentences)))
    unknown = sum(-weight for weight in weights.values() if weight < 0) / total
    return best + COVERAGE_WEIGHT * together - UNSEEN_WEIGHT * unknown


def select_sentences(
    passages: Sequence[Passage],
    reading: Reading,
    weights: Mapping[str, float],
    *,
    limit: int = EXPLAIN_SENTENCES,
    stale: Callable[[str], bool] = lambda _: False,
) -> list[tuple[Passage, str, float]]:
    """The best `limit` sentences: similarity to the question, nudged by mode match, by the question's words they
    carry (weighted by rarity, `weights`) and by the asked dimension; no near-repeats. A `stale` sentence (one a
    newer corpus sentence overtakes) ranks lower and never comes before a current one."""
    wanted_modes = set(reading.modes)
    positive = [(term, weight) for term, weight in weights.items() if weight > 0]
    total = sum(weight for _, weight in positive) or 1.0
    topics = frozenset(reading.dimensions)
    measured = bool(_MEASURED & topics)
    question = reading.resolved_question.lower()
    status = Dimension.MATURITY in topics and not _PAST.search(question)
    years = set(lexicon.YEAR.findall(question))
    if not years and (status or _NOW.search(question)):
        years = {year for year in [newest_year(passages)] if year}
    asks_when = reading.kind is Kind.DATE  # "when did ambient go GA?" (not "when should we use it?")
    asks_why = reading.kind in (Kind.WHY, Kind.WHY_NOT)
    subject = _subject(reading) if reading.kind in (Kind.DEFINITION, Kind.OVERVIEW) else ""
    # "a waypoint is", "an Istio waypoint proxy is": one word may stand on either side of the subject
    defining = (
        rf"(?:an?\s+|the\s+)?(?:[\w-]+\s+)?{re.escape(subject)}s?(?:\s+[\w-]+)?"
        r"\s+(?:is|are)\s+(?:an?|the|one|[\w-]+'s)\b"
    )
    definition = re.compile(defining) if subject else None
    candidates: list[_Candidate] = []
    for rank, passage in enumerate(passages):
        chunk_modes = set(passage.chunk.modes)
        specific = 0 < len(chunk_modes) < len(Mode)
        nudge = -0.01 * rank
        if wanted_modes and specific:
            nudge += 0.05 if chunk_modes & wanted_modes else -0.08
        heading = read_sentence(f"{passage.chunk.title} {passage.chunk.section}").words
        entry = reading.kind is Kind.DEFINITION and opens_entry(passage.chunk, reading)
        for sentence in passage.sentences:
            read = read_sentence(sentence.text)
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
            if asks_why and read.reasons:
                on_topic += REASON_BONUS
            if definition and definition.match(read.lowered):
                on_topic += DEFINITION_BONUS + (TITLED_BONUS if entry else 0.0)
            if stale(sentence.text):
                on_topic -= STALE_PENALTY
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
    return sorted(chosen, key=lambda picked: stale(picked[1]))  # stable: current sentences first, in rank order


_PARTS = frozenset(component.lower() for component in lexicon.COMPONENTS)  # "grpc-agent" names a part, not grpc


def opens_entry(chunk: Chunk, reading: Reading) -> bool:
    """Whether `chunk` belongs to an entry named after what a definition question asks about (its glossary
    entry), not a mode's (modes have whole documents)."""
    subject = _subject(reading)  # a part (the grpc-agent) or a term has an entry; a mode has whole documents
    part = subject in _PARTS or not lexicon.find_modes(subject)
    return bool(subject) and part and _entry(chunk.section, frozenset(terms(subject)))


def _entry(section: str, subject: frozenset[str]) -> bool:
    """Whether `section` (a heading path) ends in a heading named after `subject`, one word more at most."""
    named = read_sentence(section.rsplit(" > ", 1)[-1]).words
    return subject <= named and len(named - subject) <= 1


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
    read, before = read_sentence(sentence.text), read_sentence(earlier.text)
    if len(read.words & before.words) / max(len(read.words | before.words), 1) > SAME_WORDS:
        return True
    similarity = float(sentence.vector @ earlier.vector)
    if similarity >= SAME_MEANING:
        return True
    return (
        similarity >= CLOSE_MEANING and bool(read.figures & before.figures) and len(read.figures - before.figures) <= 1
    )


def period_of(section: str) -> frozenset[str]:
    """The years a section records when its heading is a period ("2025 (January-June)", "2017-2021")."""
    heading = section.rsplit(" > ", 1)[-1]
    period = _PERIOD.match(heading)
    if period is None:
        return frozenset()
    first, last = int(period["first"]), int(period["last"] or period["first"])
    return frozenset(str(year) for year in range(first, last + 1))


def event_date(sentence: str) -> str:
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
    return max((year for p in passages for s in p.sentences for year in read_sentence(s.text).years), default=None)


def best_sentence_about(
    passages: Sequence[Passage],
    reading: Reading,
    weights: Mapping[str, float],
    mode: Mode,
    taken: set[str],
    stale: Callable[[str], bool] = lambda _: False,
) -> tuple[Passage, str] | None:
    """The best sentence about `mode` alone: from a passage specific to it, naming it, not used yet."""
    specific = [p for p in passages if mode in p.chunk.modes and len(p.chunk.modes) < len(Mode)]
    for passage, text, score in select_sentences(specific, reading, weights, stale=stale):
        named = lexicon.find_modes(text.lower())
        if score >= ANSWER_FLOOR + 0.08 and text not in taken and named[:1] == [mode]:
            return passage, text
    return None
