"""The keyword side of understanding: what each user turn names, in two pure steps around the one model call.

`analyse_turn()` reads one turn with the keyword rules, for what is unambiguous only: the modes, components,
matrix features, dimensions and years it names, the requirements its phrases state, and the words by which it
refers back ("the runner-up", "that one", "and on cost?"). `plan()` reads a conversation's user turns and
decides which texts and clauses go into the one embedding batch. What kind of answer a question asks for is
not decided here: `assistant.understanding.reading` learns that from labelled phrasings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.domain.conversation import Aspect, Turn
from assistant.domain.text import terms
from assistant.domain.vocabulary import DIMENSION_PRIORITIES, Dimension, Mode
from assistant.understanding import lexicon
from assistant.understanding.cluster_numbers import cluster_numbers

Span = tuple[int, int]
# A sentence, whatever the case of the word after it ("ignore that. we are a bank"); "1.24" does not end one.
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?![\s]|$))+(?:[.!?]+|$)")
_CLAUSE_BREAK = re.compile(r"[,;:()]|\s[-–—]\s|\s(?:and|but|while|so|because|though|although|whereas|plus)\s")


class FeatureNames:
    """The feature matrix's aliases as one pattern (the longest alias first), built once: "kata containers"
    names sandboxed runtimes wherever it stands in a question, "kata" too."""

    def __init__(self, aliases: Mapping[str, str] | None = None) -> None:
        self.aliases = dict(aliases or {})
        ordered = sorted(self.aliases, key=lambda alias: (-len(alias), alias))
        either = "|".join(re.escape(alias) for alias in ordered)
        self.pattern = re.compile(rf"(?<![\w-])(?:{either})(?![\w-])") if ordered else None

    def named(self, lowered: str) -> list[str]:
        """The features `lowered` names, in order of first mention."""
        if self.pattern is None:
            return []
        return list(dict.fromkeys(self.aliases[match.group(0)] for match in self.pattern.finditer(lowered)))


NO_FEATURES = FeatureNames()


@dataclass(frozen=True)
class TurnAnalysis:
    """What the keyword rules read in one user turn (its injected sentences blanked out)."""

    text: str  # the turn, with sentences that try to override instructions replaced by spaces
    injected: bool  # some sentence tried to override instructions
    modes: list[Mode]
    dimensions: list[Dimension]
    components: list[str]
    features: list[str]  # feature matrix rows named by one of their aliases
    clauses: list[Span]
    stated: dict[str, Any]  # requirement fields set by phrases, the stance rule and named needs
    signals: list[str]
    ordinal: int | None  # "the runner-up": 1; "the one you recommended": 0; "the last one": -1
    pair: bool  # "those two", "both of them": the first two of the ranking before
    refers_back: bool  # "it", "that option", "them"
    elliptical: bool  # leans on the turn before: "and on cost?", "what about cilium?", "why?"
    in_domain: bool
    first_person: bool
    aspects: tuple[Aspect, ...]  # weak or strong points asked for, in the corpus's words
    numbers: dict[str, float]  # the cluster's numbers it states ("40 nodes"), by ClusterSize field

    @property
    def empty(self) -> bool:
        return re.search(r"\w", self.text) is None


@dataclass(frozen=True)
class Plan:
    history: list[TurnAnalysis]  # earlier user turns, oldest first
    current: TurnAnalysis
    resolved_question: str  # the question; an elliptical one completed from the user's turn before
    embedded_from: int = 0  # earlier turns from this index on are embedded with the question
    completed: bool = False  # the question was completed from the turn before; its own words are embedded last
    texts: list[str] = field(default_factory=list)  # to embed, in one batch: those earlier turns, then the question
    spans: list[list[Span]] = field(default_factory=list)  # the clauses of each text


def blank(text: str, spans: Sequence[Span]) -> str:
    """`text` with `spans` replaced by spaces: positions stay valid, the words are gone."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def injected_spans(text: str) -> list[Span]:
    """Sentences (and markup comments) that try to override instructions, by the keyword rules."""
    lowered = text.lower()
    spans = [match.span() for match in lexicon.HIDDEN_MARKUP.finditer(text)]
    spans += [match.span() for match in _SENTENCE.finditer(lowered) if lexicon.INJECTION.search(match.group(0))]
    return spans


def analyse_turn(text: str, features: FeatureNames = NO_FEATURES, *, drop: Sequence[Span] = ()) -> TurnAnalysis:
    """Read `text` with the keyword rules; `features`: the matrix's aliases; `drop`: spans
    found to be injected by other means (the labelled phrasings) on top of the keyword rules' own."""
    removed = [*injected_spans(text), *drop]
    kept = blank(text, removed)
    lowered = kept.lower()
    clauses = clause_spans(kept)
    stated: dict[str, Any] = {}
    signals: list[str] = []
    sentences = sentence_parts(lowered) or [(0, len(lowered))]
    for start, end in sentences:
        found, fired = lexicon.phrase_requirements(lowered[start:end])
        signals += [f"phrase:{name}" for name in fired]
        for name, value in found.items():
            stated.setdefault(name, value)
    for start, end in sorted(clauses, key=lambda span: span[1] - span[0]):  # the closest reading first
        sentence = next((lowered[s:e] for s, e in sentences if s <= start < e), lowered)
        for name, value in lexicon.stance_requirements(lowered[start:end], sentence).items():
            if name not in stated:
                stated[name] = value
                signals.append(f"stance:{name}={value}")
    first_person = lexicon.FIRST_PERSON.search(lowered) is not None
    named_features = features.named(lowered)
    needs = _needed(lowered, features) if named_features else []
    if needs:
        stated["needs"] = tuple(needs)
        signals.append(f"needs:{','.join(needs)}")
    superlatives = _superlative_dimensions(lowered, clauses)
    if lexicon.RECOMMEND.search(lowered) and (first_person or stated):  # "the lightest option for us": it matters
        for dimension in superlatives:
            priority = DIMENSION_PRIORITIES[dimension]
            if priority.value not in stated:
                stated[priority.value] = "high"
                signals.append(f"superlative:{priority.value}=high")
    modes = lexicon.with_istio(lowered, lexicon.find_modes(lowered))
    whole = lexicon.about_a_whole_mode(lowered)
    aspects = tuple(aspect for aspect, pattern, _ in lexicon.ASPECTS if whole and pattern.search(lowered))
    ordinal = next((place for pattern, place in lexicon.ORDINALS if pattern.search(lowered)), None)
    own_words = [t for t in terms(lowered) if t not in lexicon.FOLLOWUP_WORDS]
    return TurnAnalysis(
        text=kept,
        injected=bool(removed),
        modes=modes,
        dimensions=lexicon.find_dimensions(lowered),
        components=lexicon.find_components(lowered),
        features=named_features,
        clauses=clauses,
        stated=stated,
        signals=signals,
        ordinal=ordinal,
        pair=lexicon.PAIR.search(lowered) is not None,
        refers_back=lexicon.ANAPHORA.search(lowered) is not None,
        elliptical=lexicon.FOLLOWUP_OPENER.search(lowered) is not None or len(own_words) <= 2,
        in_domain=bool(modes or stated or named_features or lexicon.DOMAIN.search(lowered)),
        first_person=first_person,
        aspects=aspects,
        numbers=cluster_numbers(lowered),
    )


_OPENERS = ("what", "how", "when", "why", "which")
_POLAR = frozenset(
    [
        "is",
        "are",
        "does",
        "do",
        "can",
        "could",
        "will",
        "would",
        "should",
        "has",
        "have",
        "did",
        "isn't",
        "aren't",
        "doesn't",
        "don't",
        "won't",
    ]
)


def evidence(turn: TurnAnalysis) -> list[float]:
    """The keyword rules' evidence about the kind of answer asked for, as features beside the question's vector:
    how the asking sentence opens, how many modes and components it names, whether it speaks of "us", states a
    requirement, uses a superlative, names a year, refers back, greets or asks for help, asks for a joke or a
    poem, and whether the modes ("which option", "the four modes") or something else ("the fastest way") are
    what it is about."""
    lowered = turn.text.lower()
    asking = sentence_parts(lowered)
    words = (lowered[slice(*asking[-1])] if asking else lowered).split()
    opener = words[0] if words else ""
    return [
        float(opener in _POLAR),
        *(float(opener == word) for word in _OPENERS),
        float(not turn.modes),
        float(len(turn.modes) == 1),
        float(len(turn.modes) >= 2),
        float(len(turn.components) >= 2),
        float(turn.first_person),
        float(bool(turn.stated)),
        float(lexicon.SUPERLATIVE.search(lowered) is not None),
        float(lexicon.YEAR.search(lowered) is not None),
        float(turn.refers_back or turn.ordinal is not None),
        float(turn.injected),
        float(lexicon.HELP.search(lowered) is not None),
        float(lexicon.OFF_TOPIC.search(lowered) is not None),
        float(lexicon.MODES_AS_SUBJECT.search(lowered) is not None or lexicon.ALL_MODES.search(lowered) is not None),
        float(lexicon.NOT_MODES_AS_SUBJECT.search(lowered) is not None),
    ]


def _needed(lowered: str, features: FeatureNames) -> list[str]:
    """The features a clause says the user's platform needs or uses ("we run CronJobs", "our EnvoyFilter
    patches"), not those they ask about ("does ambient support EnvoyFilter?")."""
    needed: list[str] = []
    for start, end in clause_spans(lowered):
        clause = lowered[start:end]
        if lexicon.NEED.search(clause) and not lexicon.QUESTION_START.search(clause):
            needed += [feature for feature in features.named(clause) if feature not in needed]
    return needed


def _superlative_dimensions(lowered: str, clauses: Sequence[Span]) -> list[Dimension]:
    """The dimensions superlatives ask about, each read in the shortest clause that holds it: "the most mature
    option for a bank? we care little about latency" -> maturity only."""
    found: list[Dimension] = []
    for match in lexicon.SUPERLATIVE.finditer(lowered):
        holding = [(end - start, start, end) for start, end in clauses if start <= match.start() < end]
        _, start, end = min(holding, default=(0, 0, len(lowered)))
        found += [d for d in lexicon.find_dimensions(lowered[start:end]) if d not in found]
    return found


def sentence_parts(text: str) -> list[Span]:
    """The sentences of a user's turn, as typed (lower case after a full stop too)."""
    return [_strip(text, match.span()) for match in _SENTENCE.finditer(text) if re.search(r"\w", match.group(0))]


def clause_spans(text: str) -> list[Span]:
    """Each sentence, and its clauses (cut at commas, dashes and conjunctions), of two words or more."""
    spans: list[Span] = []
    for start, end in sentence_parts(text) or [(0, len(text))]:
        spans.append((start, end))
        cursor = start
        for cut in _CLAUSE_BREAK.finditer(text, start, end):
            spans.append((cursor, cut.start()))
            cursor = cut.end()
        spans.append((cursor, end))
    kept = (_strip(text, span) for span in spans)
    return sorted({(s, e) for s, e in kept if len(text[s:e].split()) >= 2})


def _strip(text: str, span: Span) -> Span:
    start, end = span
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


def plan(
    question: str, history: Sequence[Turn], *, features: FeatureNames = NO_FEATURES, embed_turns: int = 15
) -> Plan:
    """Read the user's turns with the keyword rules; `embed_turns`: how many earlier user turns to embed.
    The assistant's turns are not read: what an earlier answer said is rebuilt from its question."""
    earlier = [analyse_turn(turn.content, features) for turn in history if turn.role == "user"]
    current = analyse_turn(question, features)
    resolved = " ".join(current.text.split())
    asked = next((turn for turn in reversed(earlier) if terms(turn.text)), None)  # skip "how much?"
    if asked is not None and current.elliptical:
        resolved = _completed(asked, current, resolved)
    elif asked is not None and _about_the_answer_before(current):  # "which version was that measured on?"
        resolved = f"{' '.join(asked.text.split())} {resolved}"
    embedded_from = max(0, len(earlier) - embed_turns)
    completed = resolved != " ".join(current.text.split())  # "why?" says what it asks; "...? why?" says about what
    return Plan(
        history=earlier,
        current=current,
        resolved_question=resolved,
        embedded_from=embedded_from,
        completed=completed,
        texts=[turn.text for turn in earlier[embedded_from:]] + [resolved] + ([current.text] if completed else []),
        spans=[turn.clauses for turn in earlier[embedded_from:]]
        + [clause_spans(resolved)]
        + ([[]] if completed else []),
    )


def _about_the_answer_before(turn: TurnAnalysis) -> bool:
    """Whether a turn with words of its own asks about what the answer before said ("that", "those figures")
    without naming a subject or stating a requirement of its own: its subject is the question before."""
    named = turn.modes or turn.components or turn.features or turn.stated or turn.ordinal is not None
    return turn.refers_back and not named


def _completed(previous: TurnAnalysis, current: TurnAnalysis, question: str) -> str:
    """An elliptical follow-up made whole from the user's turn before: "And a waypoint?" after "How much memory
    does ztunnel use?" asks how much memory a waypoint uses; "and in 2023?" after "what changed in 2025?" asks
    what changed in 2023; "why?" or "how much?" asks it about the previous question's subject."""
    if (swapped := _substitute(previous.text, question)) is not None:
        return swapped
    if (again := _another_year(previous.text, question)) is not None:
        return again
    if not [t for t in terms(question) if t not in lexicon.FOLLOWUP_WORDS]:
        return f"{' '.join(previous.text.split())} {question}"
    return question


def _substitute(previous: str, question: str) -> str | None:
    subject = question.strip()
    while opener := lexicon.FOLLOWUP_OPENER.match(subject.lower()):  # "and", "what about", "and what about"
        subject = subject[opener.end() :].lstrip(" ,")
    subject = subject.strip(" ?.!")
    subject = re.sub(r"^(?:a|an|the)\s+", "", subject, flags=re.I)
    if not subject or len(subject.split()) > 4 or not lexicon.find_modes(subject.lower()):
        return None
    lowered = previous.lower()
    spans = [m.span() for pattern in lexicon.MODE_PATTERNS.values() if (m := pattern.search(lowered))]
    if not spans:
        return None
    start, end = min(spans)
    return " ".join(f"{previous[:start]}{subject}{previous[end:]}".split())


def _another_year(previous: str, question: str) -> str | None:
    subject = question.strip().lower()
    while opener := lexicon.FOLLOWUP_OPENER.match(subject):
        subject = subject[opener.end() :].lstrip(" ,")
    year = re.fullmatch(r"(?:(?:in|during|for|of) )?(?:the year )?(20\d\d)\s*[?.!]*", subject)
    if year is None or not lexicon.YEAR.search(previous):
        return None
    return " ".join(lexicon.YEAR.sub(year[1], previous).split())
