"""Plan + the batch's vectors -> a `Reading`: the kind learned from labelled phrasings, the rest from keywords.

The conversation's state is rebuilt by replaying its user turns: each earlier turn is read the way it was read
when it was asked, and `outcome` (given by the responder, which owns the rule layer) says what its answer
established (a ranking, the modes it was about). Follow-ups resolve against that structure ("the runner-up",
"that one", "and if cost were no object?"), never against the assistant's text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from assistant.domain.conversation import Aspect, Kind, Outcome, Reading
from assistant.domain.requirements import Requirements, parse_cluster, parse_requirements
from assistant.domain.sizing import ClusterSize
from assistant.domain.text import terms
from assistant.domain.vocabulary import DIMENSION_PRIORITIES, MODE_LABELS, Dimension, Mode
from assistant.errors import InvalidRequirementError
from assistant.understanding import lexicon
from assistant.understanding.analysis import (
    FeatureNames,
    Plan,
    Span,
    TurnAnalysis,
    analyse_turn,
    evidence,
    sentence_parts,
)
from assistant.understanding.examples import REQUIREMENT_THRESHOLD, ExampleIndex
from assistant.understanding.kinds import KindClassifier, KindGuess

Vectors = np.ndarray[Any, np.dtype[np.float32]]
Outcomes = Callable[[Reading], Outcome]


@dataclass(frozen=True)
class Familiar:
    """How much of a question the corpus knows: the share of its content words it uses, whether it names
    something the corpus names (a vendor, a release), and whether it names something the corpus never does."""

    share: float
    names: bool
    unknown: bool = False
    topics: frozenset[str] = frozenset()  # its words that corpus sections are about (their headings use them)


Familiarity = Callable[[str], Familiar]

FAMILIAR_SHARE = 0.75  # of the question's content words known to the corpus: then it is in the domain
# A question with no mesh word and fewer familiar words is answered only when the phrasings leave no doubt about
# its kind ("give me a summary of the trade-offs"); "which index type suits a busy Postgres table?" is not.
# Naming a rated dimension or a year lowers the bar ("which mode scores lowest on security?").
SURE_KIND, SURE_RECORDED, SURE_FAMILIAR = 0.9, 0.5, 0.5
INJECTION_CONFIDENCE = 0.6  # a sentence the labelled phrasings read as an injection this surely is dropped
FOLLOW_CONFIDENCE = 0.5  # below this, an elliptical follow-up keeps the kind of the question before
RECOMMENDING = frozenset({Kind.RECOMMEND, Kind.WHY_NOT, Kind.WHAT_IF})
ANSWERED = frozenset(Kind) - {Kind.HELP, Kind.OUT_OF_SCOPE, Kind.INJECTION}
CHANGE_WORDS = "timeline: how the models changed"  # what the corpus calls the dated record of changes
DIMENSION_LABELS: dict[Dimension, str] = {
    Dimension.SECURITY: "security",
    Dimension.RESOURCE_EFFICIENCY: "resource cost",
    Dimension.MANAGEABILITY: "operations and upgrades",
    Dimension.PERFORMANCE: "latency and performance",
    Dimension.MATURITY: "maturity and status",
    Dimension.NETWORK_EFFICIENCY: "network overhead and cross-zone cost",
}


@dataclass(frozen=True)
class Models:
    """What understanding learned from labelled data: requirement clauses and answer kinds."""

    requirements: ExampleIndex
    kinds: KindClassifier
    features: FeatureNames  # the matrix's aliases


def read(
    plan: Plan,
    vectors: Vectors,
    clause_vectors: Sequence[Vectors],
    models: Models,
    outcome: Outcomes,
    familiar: Familiarity,
) -> Reading:
    """The Reading of `plan.current`, after replaying the earlier turns; `vectors` embed `plan.texts`."""
    state: Outcome | None = None
    requirements = Requirements()
    numbers: dict[str, float] = {}  # the cluster's numbers, each as last stated: "40 nodes", then "1,200 pods"
    for index, turn in enumerate(plan.history):
        position = index - plan.embedded_from
        embedded = (vectors[position], clause_vectors[position]) if position >= 0 else None
        earlier = _read_turn(turn, turn.text, embedded, models, state, requirements, familiar)
        if turn.injected or any(signal.startswith("injected") for signal in earlier.signals):
            continue  # an earlier turn that tried to rewrite the rules contributes nothing, not even its rest
        requirements = earlier.requirements
        numbers |= turn.numbers
        if earlier.kind in ANSWERED:
            state = outcome(earlier)
    at = len(vectors) - 2 if plan.completed else len(vectors) - 1
    own = vectors[-1] if plan.completed else None
    current = (vectors[at], clause_vectors[at])
    reading = _read_turn(plan.current, plan.resolved_question, current, models, state, requirements, familiar, own=own)
    cluster = _cluster(numbers | plan.current.numbers) if reading.kind is not Kind.INJECTION else None
    if cluster is None:
        return reading
    stated_now = reading.stated_now.model_copy(update={"cluster": cluster}) if plan.current.numbers else None
    return replace(
        reading,
        requirements=reading.requirements.model_copy(update={"cluster": cluster}),
        stated_now=stated_now or reading.stated_now,
    )


def _cluster(numbers: dict[str, float]) -> ClusterSize | None:
    """The cluster the numbers describe, once its nodes and pods are known; None while they are not, or when
    they cannot be (more zones than nodes, say: the estimate then waits for numbers that fit together)."""
    if "nodes" not in numbers or "pods" not in numbers:
        return None
    counts = {"nodes", "pods", "l7_scopes", "zones"}
    try:
        return parse_cluster({name: int(value) if name in counts else value for name, value in numbers.items()})
    except InvalidRequirementError:
        return None


def _read_turn(
    turn: TurnAnalysis,
    question: str,
    embedded: tuple[Vectors, Vectors] | None,
    models: Models,
    state: Outcome | None,
    before: Requirements,
    familiar: Familiarity,
    *,
    own: Vectors | None = None,
) -> Reading:
    """One turn read in the light of the outcome before it; without vectors (an old turn), by keywords only.
    `own`: the vector of the turn's own words when `question` completes them from the turn before ("why?"): its
    kind is theirs when they say it clearly enough, or when they are nothing but question words ("why?"), unless
    it is "out of scope": words that complete a question from the turn before cannot take it out of the domain."""
    signals = list(turn.signals)
    guess: KindGuess | None = None
    clauses: list[tuple[Span, Vectors]] = []
    if embedded is not None:
        vector, clause_vectors = embedded
        spans = turn.clauses if question == " ".join(turn.text.split()) else []
        clauses = list(zip(spans, clause_vectors, strict=False))
        dropped = _injected_sentences(turn, dict(clauses), models.kinds)
        if dropped:  # the phrasings know more ways to override instructions than the keyword rules do
            turn = analyse_turn(turn.text, models.features, drop=dropped)
            kept = [vector for span, vector in clauses if not any(s <= span[0] < e for s, e in dropped)]
            clauses = [(span, vector) for span, vector in clauses if span in turn.clauses]
            vector = _mean(kept) if kept else vector
            signals.append(f"injected:{len(dropped)}")
        guess = models.kinds.guess(vector, evidence(turn)) if not turn.empty else None
        if own is not None and guess is not None:
            said = models.kinds.guess(own, evidence(turn))
            said_enough = said.confidence >= FOLLOW_CONFIDENCE or not terms(turn.text)
            guess = said if said_enough and said.kind is not Kind.OUT_OF_SCOPE else guess
    hypothetical = guess is not None and guess.kind is Kind.WHAT_IF  # "what if half were gRPC?" states a platform
    supposing = hypothetical and guess is not None and guess.confidence >= FOLLOW_CONFIDENCE  # not "what about it?"
    stated = _stated(turn, clauses, models.requirements, signals, hypothetical=hypothetical, supposing=supposing)
    known = familiar(turn.text)
    kind, confidence = _kind(turn, guess, state, stated, known, signals)
    reading_modes, reference = _modes(turn, kind, state)
    components = tuple(turn.components)
    if not components and not turn.modes and state is not None and (turn.refers_back or turn.elliptical):
        components = state.components  # "and its upgrades?" after "what is ztunnel?"
    requirements = before.merged(parse_requirements(stated)) if kind is not Kind.INJECTION else before
    dimensions = tuple(turn.dimensions) or (state.dimensions if state is not None and turn.elliptical else ())
    asked = [mode for mode in turn.modes if not _merely_run(mode, stated)]
    focus = None
    if kind is Kind.WHY_NOT and (asked or reference):
        focus = asked[0] if asked else reference[1] if reference else None
    elif kind is Kind.RECOMMEND and len(asked) == 1:  # "should a startup with 3 engineers use sidecars?"
        focus = asked[0]
    aspects = turn.aspects
    if not aspects and turn.elliptical and terms(turn.text):  # "and cilium?" after its downsides; not "why?"
        aspects = _aspects(question)
    if kind is Kind.TRADEOFFS and not aspects:
        aspects = (Aspect.STRENGTHS, Aspect.WEAKNESSES)
    return Reading(
        kind=kind,
        modes=reading_modes,
        dimensions=dimensions,
        requirements=requirements,
        stated_now=parse_requirements(stated) if kind is not Kind.INJECTION else Requirements(),
        resolved_question=_for_retrieval(question, kind, reading_modes, dimensions, aspects, components),
        components=components,
        features=tuple(turn.features),
        sides=(lexicon.sides(turn.text) or ()) if kind is Kind.DIFFERENCE else (),
        topic=_topic(turn, kind, known, models.kinds) if kind is Kind.OVERVIEW else (),
        focus=focus,
        aspects=aspects if kind in (Kind.TRADEOFFS, Kind.OVERVIEW) else (),
        lowest=kind is Kind.RANK and lexicon.LOWEST.search(turn.text.lower()) is not None,
        reference=reference,
        previous=state if _follows_up(turn, kind) else None,
        confidence=confidence,
        signals=tuple(signals),
    )


def _topic(turn: TurnAnalysis, kind: Kind, known: Familiar, kinds: KindClassifier) -> tuple[str, ...]:
    """What the turn asks about besides modes as wholes: the components it names, and the words that a corpus
    section is about if questions of its kind do not use them to ask ("tell me about" is wording; "multicluster"
    is a topic)."""
    words = lexicon.beyond_whole_modes(turn.text) & known.topics
    return (*turn.components, *sorted(words - kinds.wording[kind]))


def _aspects(question: str) -> tuple[Aspect, ...]:
    lowered = question.lower()
    whole = lexicon.about_a_whole_mode(lowered)
    return tuple(aspect for aspect, pattern, _ in lexicon.ASPECTS if whole and pattern.search(lowered))


def _follows_up(turn: TurnAnalysis, kind: Kind) -> bool:
    return turn.elliptical or turn.refers_back or turn.ordinal is not None or kind in (Kind.WHAT_IF, Kind.WHY_NOT)


def _injected_sentences(turn: TurnAnalysis, vectors: dict[Span, Vectors], kinds: KindClassifier) -> list[Span]:
    """Sentences the labelled phrasings read as attempts to override instructions."""
    dropped = []
    for start, end in sentence_parts(turn.text):
        span = next((s for s in vectors if s[0] >= start and s[1] <= end and s[1] - s[0] >= end - start - 2), None)
        if span is None:
            continue
        guess = kinds.guess(vectors[span], evidence(turn))
        if guess.kind is Kind.INJECTION and guess.confidence >= INJECTION_CONFIDENCE:
            dropped.append((start, end))
    return dropped


def _mean(vectors: Sequence[Vectors]) -> Vectors:
    mean = np.mean(np.stack(vectors), axis=0)
    norm = float(np.linalg.norm(mean))
    return np.asarray(mean / norm if norm else mean, dtype=np.float32)


def _stated(
    turn: TurnAnalysis,
    clauses: Sequence[tuple[Span, Vectors]],
    examples: ExampleIndex,
    signals: list[str],
    *,
    hypothetical: bool,
    supposing: bool,
) -> dict[str, Any]:
    """What the turn states about the user's platform: the keyword rules' reading, then the nearest labelled
    clause of each clause that describes the platform (not a question about a mode, unless the question
    supposes a platform: `hypothetical`); a clear supposition (`supposing`) that states nothing else raises the
    dimensions it names."""
    stated = dict(turn.stated)
    if clauses:
        spans = [span for span, _ in clauses]
        matches = examples.nearest(np.stack([vector for _, vector in clauses]))
        for (example, score), span in zip(matches, spans, strict=True):
            if score < REQUIREMENT_THRESHOLD or not (hypothetical or _describes_own_platform(turn.text, span)):
                continue
            for name, value in example.sets.items():
                if name not in stated:
                    stated[name] = value
                    signals.append(f"example:{name}={value}:{score:.2f}:{turn.text[span[0] : span[1]]!r}")
    supposed = turn.dimensions if supposing and not stated else []  # "what if restarts were fine?" states a fact
    for dimension in supposed:  # "what if it had to be as proven as possible?": nothing stated but a dimension
        priority = DIMENSION_PRIORITIES[dimension].value
        if priority not in stated:
            stated[priority] = "high"
            signals.append(f"supposed:{priority}=high")
    if stated.get("regulated") is True:
        stated.setdefault("security", "high")
    return stated


def _describes_own_platform(text: str, span: Span) -> bool:
    """A clause can state a requirement if it speaks of "we/our" or is a statement, not a question."""
    clause = text[span[0] : span[1]].lower()
    sentence_end = text.find("?", span[1])
    asked = lexicon.QUESTION_START.search(clause) is not None or (0 <= sentence_end <= span[1] + 2)
    return lexicon.FIRST_PERSON.search(clause) is not None or not asked


def _kind(
    turn: TurnAnalysis,
    guess: KindGuess | None,
    state: Outcome | None,
    stated: dict[str, Any],
    known: Familiar,
    signals: list[str],
) -> tuple[Kind, float]:
    """The kind the phrasings say, where the conversation and the keyword evidence allow it."""
    if turn.empty:
        return (Kind.INJECTION, 1.0) if turn.injected else (Kind.OUT_OF_SCOPE, 1.0)
    named = known.names and not known.unknown  # a vendor, a project or a release the sources name
    if guess is None:  # an old turn, beyond the embedded ones: keywords only
        kind, confidence = (Kind.RECOMMEND, 0.5) if stated else (Kind.OVERVIEW, 0.5)
    else:
        kind, confidence = guess.kind, guess.confidence
        signals.append(f"kind:{kind.value}:{confidence:.2f}")
        if kind is Kind.INJECTION and confidence < INJECTION_CONFIDENCE:  # nothing was dropped: not an injection
            kind = guess.runner_up
        cited = named and turn.dimensions  # a source the corpus cites, on a topic
        if kind is Kind.OUT_OF_SCOPE and (turn.modes or turn.components or cited):
            kind = guess.runner_up  # it names a mode or a part, or what a source the corpus cites said on a topic
    recommending = state is not None and state.kind in RECOMMENDING
    if state is not None and turn.elliptical and not turn.modes and confidence < FOLLOW_CONFIDENCE:
        kind = Kind.COMPARE if turn.pair else _continued(state, stated)  # "and on security?", "and those two?"
        signals.append(f"kind-continued:{kind.value}")
    if kind is Kind.WHAT_IF and not stated:  # "what would change your answer?": the ranking and what would move it
        kind = Kind.RECOMMEND if recommending or state is None else _continued(state, stated)
    if kind is Kind.WHY_NOT and not recommending and not stated and turn.dimensions:
        kind = Kind.WHY  # "why does cilium score so low on security?" with nothing ranked yet: the rating's reasons
    if kind in (Kind.WHAT_IF, Kind.WHY_NOT) and not recommending:
        kind = Kind.RECOMMEND  # nothing to change or to rank against yet: a recommendation for what is stated
    if kind is Kind.RECOMMEND and not stated and len(turn.modes) >= 2 and turn.dimensions:
        kind = Kind.COMPARE  # "sidecar or ambient: which is better on security?": no platform to rank for
    if kind is Kind.RANK and stated:
        kind = Kind.RECOMMEND  # "which is cheapest for us, a bank?": a ranking for their own situation
    if kind is Kind.RECOMMEND and recommending and stated:
        kind = Kind.WHAT_IF  # "and memory is tight for us too": the ranking again, with what moved
    if kind is Kind.CHANGES and not (lexicon.YEAR.search(turn.text) or lexicon.RECENT.search(turn.text.lower())):
        kind = guess.runner_up if guess is not None else Kind.OVERVIEW  # a change with no period: an explanation
    if kind is Kind.DIFFERENCE and len(turn.modes) >= 2 and len(turn.components) < 2:
        kind = Kind.COMPARE  # the difference between two modes is their comparison
    advice = lexicon.ADVICE.search(turn.text.lower()) is not None  # not "can our Java services go proxyless?"
    if kind is Kind.POLAR and stated and advice and len(turn.modes) == 1 and not (turn.features or turn.components):
        kind = Kind.RECOMMEND  # "should a team of three use sidecars?": the rule layer's verdict, for them
    recorded = bool(turn.dimensions) or lexicon.YEAR.search(turn.text) is not None or named  # rated, dated, cited
    in_domain = (
        turn.in_domain
        or bool(stated)
        or state is not None
        or known.share >= FAMILIAR_SHARE
        or (confidence >= SURE_KIND and known.share >= SURE_FAMILIAR)
        or (recorded and confidence >= SURE_RECORDED and known.share >= SURE_FAMILIAR)
    )
    if kind in ANSWERED and not in_domain:
        return Kind.OUT_OF_SCOPE, confidence
    return kind, confidence


def _continued(state: Outcome, stated: dict[str, Any]) -> Kind:
    """The kind of an elliptical follow-up: a comparison or ranking goes on as one, unless the turn describes a
    platform (then it asks for a recommendation); after a recommendation, a stated change re-ranks and anything
    else asks about the pick; otherwise the same kind again."""
    if state.kind in (Kind.COMPARE, Kind.RANK, Kind.TRADEOFFS):
        return Kind.RECOMMEND if stated else Kind.COMPARE
    if state.kind in RECOMMENDING:
        return Kind.WHAT_IF if stated else Kind.OVERVIEW
    return state.kind


def _merely_run(mode: Mode, stated: dict[str, Any]) -> bool:
    """ "We run Cilium" names a fact about the platform, not a mode asked about."""
    return (mode is Mode.CILIUM and "cilium" in stated) or (mode is Mode.GRPC and "grpc" in stated)


def _modes(turn: TurnAnalysis, kind: Kind, state: Outcome | None) -> tuple[tuple[Mode, ...], tuple[str, Mode] | None]:
    """The modes the turn is about, with what a reference to the answer before resolved to."""
    own = tuple(turn.modes)
    if state is None:
        return own, None
    order = state.ranking or state.modes
    if turn.pair and not own and len(order) >= 2:
        return order[:2], None
    if turn.ordinal is not None and order and -len(order) <= turn.ordinal < len(order):
        mode = order[turn.ordinal]
        return (*own, mode) if own and mode not in own else own or (mode,), ("ordinal", mode)
    if own:
        if kind in (Kind.COMPARE, Kind.RANK) and len(own) == 1 and state.modes:  # "is it more secure than sidecar?"
            return (*[m for m in state.modes if m not in own], *own), None
        return own, None
    if not (turn.refers_back or turn.elliptical):
        return own, None
    if state.kind in RECOMMENDING and state.ranking and kind not in (Kind.COMPARE, Kind.RANK, Kind.TRADEOFFS):
        return (state.ranking[0],), ("pick", state.ranking[0])  # "that option", "how mature is it?"
    return state.modes, None


def _for_retrieval(
    question: str,
    kind: Kind,
    modes: Sequence[Mode],
    dimensions: Sequence[Dimension],
    aspects: Sequence[Aspect],
    components: Sequence[str],
) -> str:
    """The question with what it leaves implicit in words the corpus uses: the modes and components it refers
    to, the asked dimensions, the aspect words and the timeline for a changes question."""
    lowered = question.lower()
    named = set(lexicon.find_modes(lowered))
    added = [MODE_LABELS[m] for m in modes if m not in named]
    added += [c for c in components if c not in lexicon.find_components(lowered)]
    if added:
        added += [DIMENSION_LABELS[d] for d in dimensions]
    added += [words for aspect, _, words in lexicon.ASPECTS if aspect in aspects]
    added += [CHANGE_WORDS] if kind is Kind.CHANGES else []
    return f"{question} ({'; '.join(added)})" if added else question
