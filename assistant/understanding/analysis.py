"""Question + history -> Understanding, in two pure steps around the one model call.

`plan()` reads every user turn with the keyword rules, resolves follow-ups ("why not ambient?", "what about its
cost?", "that option") against earlier turns and decides which texts and clauses to embed. The caller embeds
them in one batch; `understand()` then adds what the nearest labelled examples say and decides the intent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from assistant.domain.conversation import Aspect, Intent, Turn, Understanding
from assistant.domain.requirements import Requirements, parse_requirements
from assistant.domain.text import sentence_spans, terms
from assistant.domain.vocabulary import DIMENSION_PRIORITIES, MODE_LABELS, Dimension, Mode
from assistant.understanding import lexicon
from assistant.understanding.examples import INTENT_THRESHOLD, REQUIREMENT_THRESHOLD, Example, Examples

Span = tuple[int, int]
_YES_NO = re.compile(r"(?:^|[.?!]\s+)(?:can|could|does|do|is|are|will|would|should|has|have|how)\b")
FAMILIAR_SHARE = 0.75  # of the question's content words known to the corpus: then it is in the domain
Vectors = np.ndarray[Any, np.dtype[np.float32]]

_CLAUSE_BREAK = re.compile(r"[,;:()]|\s[-–—]\s|\s(?:and|but|while|so|because|though|although|whereas|plus)\s")
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
class TurnAnalysis:
    """What the keyword rules read in one user turn."""

    text: str
    injection: bool
    help: bool
    off_topic: bool  # a joke, a poem: not a question the sources answer, whatever it is about
    modes: list[Mode]
    dimensions: list[Dimension]
    clauses: list[Span]
    stated: dict[str, Any]  # requirement fields set by phrases and the stance rule
    signals: list[str]
    recommend: bool
    compare: bool
    superlative: list[Dimension]  # what a superlative asks to excel at: "the lowest latency" -> performance
    why_not: bool
    what_if: bool
    refers_back: bool  # "it", "that option", "and ...", "what about ..."
    in_domain: bool
    question: bool
    explain: bool  # asks what/how/when ... about something
    changes: bool  # asks what changed in a period: "what happened in 2024?"


@dataclass(frozen=True)
class Plan:
    history: list[TurnAnalysis]  # earlier user turns, oldest first
    current: TurnAnalysis
    modes: list[Mode]  # after resolving references to earlier turns
    dimensions: list[Dimension]
    previous_intent: Intent | None
    followup: bool
    resolved_question: str
    aspects: tuple[Aspect, ...] = ()  # "what are the downsides of ambient?": its weak points
    changes: bool = False  # "what changed in 2025?", and "and in 2024?" after it
    embedded_from: int = 0  # earlier turns from this index on are embedded with the question
    texts: list[str] = field(default_factory=list)  # to embed, in one batch: those earlier turns, then the question
    spans: list[list[Span]] = field(default_factory=list)  # the clauses of each text


def analyse_turn(text: str) -> TurnAnalysis:
    lowered = text.lower()
    injection = lexicon.INJECTION.search(lowered) is not None
    clauses = clause_spans(text)
    stated: dict[str, Any] = {}
    signals: list[str] = []
    sentences = sentence_spans(lowered) or [(0, len(lowered))]
    if not injection:  # nothing from a turn that tries to rewrite the rules is used
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
    modes = lexicon.with_istio(lowered, lexicon.find_modes(lowered))
    dimensions = lexicon.find_dimensions(lowered)
    recommend = lexicon.RECOMMEND.search(lowered) is not None and not lexicon.WHEN_TO_USE.search(lowered)
    superlative = _superlative_dimensions(lowered, clauses)
    changes = lexicon.asks_for_changes(lowered)
    own = lexicon.FIRST_PERSON.search(lowered) is not None
    if recommend and (own or stated) and not injection:  # "the lightest option for us?": that matters most
        for dimension in superlative:
            priority = DIMENSION_PRIORITIES[dimension]
            if priority.value not in stated:
                stated[priority.value] = "high"
                signals.append(f"superlative:{priority.value}=high")
    return TurnAnalysis(
        text=text,
        injection=injection,
        help=lexicon.HELP.search(lowered) is not None,
        off_topic=lexicon.OFF_TOPIC.search(lowered) is not None,
        modes=modes,
        dimensions=dimensions,
        clauses=clauses,
        stated=stated,
        signals=signals,
        recommend=recommend,
        compare=lexicon.COMPARE.search(lowered) is not None or lexicon.ALL_MODES.search(lowered) is not None,
        superlative=superlative,
        why_not=lexicon.WHY_NOT.search(lowered) is not None,
        what_if=lexicon.WHAT_IF.search(lowered) is not None,
        refers_back=lexicon.ANAPHORA.search(lowered) is not None or lexicon.FOLLOWUP_OPENER.search(lowered) is not None,
        in_domain=bool(
            modes or stated or lexicon.DOMAIN.search(lowered) or (changes and lexicon.nothing_but_changes(lowered))
        ),
        question=lexicon.is_question(lowered),
        explain=lexicon.EXPLAIN.search(lowered) is not None,
        changes=changes,
    )


def _superlative_dimensions(lowered: str, clauses: Sequence[Span]) -> list[Dimension]:
    """The dimensions superlatives ask about, each read in the shortest clause that holds it: "the most mature
    option for a bank? we care little about latency" -> maturity only."""
    found: list[Dimension] = []
    for match in lexicon.SUPERLATIVE.finditer(lowered):
        holding = [(end - start, start, end) for start, end in clauses if start <= match.start() < end]
        _, start, end = min(holding, default=(0, 0, len(lowered)))
        found += [d for d in lexicon.find_dimensions(lowered[start:end]) if d not in found]
    return found


def clause_spans(text: str) -> list[Span]:
    """Each sentence, and its clauses (cut at commas, dashes and conjunctions), of two words or more."""
    spans: list[Span] = []
    for start, end in sentence_spans(text) or [(0, len(text))]:
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


def plan(question: str, history: Sequence[Turn], *, embed_turns: int = 15) -> Plan:
    """Read the conversation with the keyword rules; `embed_turns`: how many earlier user turns to embed."""
    earlier: list[TurnAnalysis] = []
    previous_intent: Intent | None = None
    context: list[Mode] = []
    last_assistant = ""
    for turn in history:
        if turn.role == "assistant":
            last_assistant = turn.content
            continue
        analysis = analyse_turn(turn.content)
        if not analysis.injection:
            intent = _keyword_intent(analysis, context, previous_intent, analysis.stated) or previous_intent
            previous_intent = intent
            context = _resolve_modes(analysis, context) or context
        earlier.append(analysis)
        last_assistant = ""
    if last_assistant and not context:  # after a comparison of them all, all the modes it compared
        context = lexicon.find_modes(last_assistant.lower())[: None if previous_intent is Intent.COMPARE else 1]
    elif last_assistant and previous_intent is Intent.RECOMMEND:
        context = lexicon.find_modes(last_assistant.lower())[:1] or context  # "that option": the pick we gave

    current = analyse_turn(question)
    followup = (
        bool(earlier)
        and not current.injection
        and not current.help
        and (current.refers_back or current.why_not or current.what_if or not current.modes)
    )
    modes = _resolve_modes(current, context) if followup else current.modes
    dimensions = current.dimensions
    resolved = question.strip()
    if followup and not dimensions and not current.stated and earlier and current.refers_back:
        dimensions = earlier[-1].dimensions  # "and on cost?", "what about cilium?": the same question again
        if (again := _another_year(earlier[-1], question)) is not None:
            resolved, modes = again, earlier[-1].modes  # "and in 2023?": what changed then, about the same modes
        else:
            resolved = _substitute(earlier[-1].text, question) or resolved
    elif followup and not terms(question):  # "how much?", "why?": a question about the last one with words
        asked = next((turn for turn in reversed(earlier) if not turn.injection and terms(turn.text)), None)
        if asked is not None:
            dimensions = asked.dimensions
            resolved = f"{asked.text.strip()} {resolved}"
    from_context = [m for m in modes if m not in lexicon.find_modes(resolved.lower())]
    if len(from_context) == 1:  # "that option - how mature is it?": put the name in its place
        resolved = lexicon.REFERRING_NAME.sub(MODE_LABELS[from_context[0]], resolved, count=1)
    # "the downsides of ambient", not "of ambient multicluster"; nor "why?" after them (that asks for reasons)
    whole = bool(terms(question)) and lexicon.about_a_whole_mode(question)
    aspects = [(a, words) for a, pattern, words in lexicon.ASPECTS if whole and pattern.search(resolved.lower())]
    added = []
    if from_context:  # "it", "that option": name what it refers to, and what is asked, for retrieval
        added = [MODE_LABELS[m] for m in modes if m not in lexicon.find_modes(resolved.lower())]
        added += [DIMENSION_LABELS[d] for d in dimensions]
    added += [words for _, words in aspects]  # "downsides": in the words the corpus uses
    changes = lexicon.asks_for_changes(resolved)
    added += [CHANGE_WORDS] if changes else []
    resolved = f"{resolved} ({'; '.join(added)})" if added else resolved
    embedded_from = max(0, len(earlier) - embed_turns)
    return Plan(
        history=earlier,
        current=current,
        modes=modes,
        dimensions=dimensions,
        previous_intent=previous_intent,
        followup=followup,
        resolved_question=resolved,
        aspects=tuple(aspect for aspect, _ in aspects),
        changes=changes,
        embedded_from=embedded_from,
        texts=[turn.text for turn in earlier[embedded_from:]] + [resolved],
        spans=[turn.clauses for turn in earlier[embedded_from:]] + [current.clauses],
    )


def _asked_modes(turn: TurnAnalysis, stated: dict[str, Any]) -> list[Mode]:
    """The modes `turn` asks about, not those the user merely runs ("we run Cilium" names no question)."""
    facts = {Mode.CILIUM: "cilium" in stated, Mode.GRPC: "grpc" in stated}
    return [mode for mode in turn.modes if not facts.get(mode, False)]


def _asks_about_a_mode(turn: TurnAnalysis, stated: dict[str, Any]) -> bool:
    """A yes/no or how question about a mode the user does not merely run."""
    return bool(_asked_modes(turn, stated)) and _YES_NO.search(turn.text.lower()) is not None


def _describes_own_platform(text: str, span: Span) -> bool:
    """A clause can state a requirement if it speaks of "we/our" or is a statement, not a question."""
    clause = text[span[0] : span[1]].lower()
    sentence_end = text.find("?", span[1])
    asked = lexicon.QUESTION_START.search(clause) is not None or (0 <= sentence_end <= span[1] + 2)
    return lexicon.FIRST_PERSON.search(clause) is not None or not asked


def _substitute(previous: str, question: str) -> str | None:
    """ "And a waypoint?" after "How much memory does a ztunnel use?" -> "How much memory does a waypoint use?"."""
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
    return f"{previous[:start]}{subject}{previous[end:]}".strip()


def _another_year(previous: TurnAnalysis, question: str) -> str | None:
    """ "And in 2024?" after "What changed in 2025?" -> "What changed in 2024?"."""
    subject = question.strip().lower()
    while opener := lexicon.FOLLOWUP_OPENER.match(subject):
        subject = subject[opener.end() :].lstrip(" ,")
    year = re.fullmatch(r"(?:(?:in|during|for|of) )?(?:the year )?(20\d\d)\s*[?.!]*", subject)
    if year is None or not previous.changes or not lexicon.YEAR.search(previous.text):
        return None
    return lexicon.YEAR.sub(year[1], previous.text)


def _resolve_modes(turn: TurnAnalysis, context: list[Mode]) -> list[Mode]:
    """The turn's own modes, or, when it names none and refers back, the modes of the conversation so far."""
    if turn.modes and not (turn.compare and len(turn.modes) == 1 and context):
        return turn.modes
    if turn.modes:  # "is it more secure than sidecar?": the earlier mode, then the new one
        return [*[m for m in context if m not in turn.modes], *turn.modes]
    return list(context)


def _keyword_intent(
    turn: TurnAnalysis, context: list[Mode], previous: Intent | None, stated: dict[str, Any]
) -> Intent | None:
    """The intent the keyword rules decide, or None when they cannot tell. `stated`: requirements in the turn."""
    if turn.injection or turn.off_topic:
        return Intent.OUT_OF_SCOPE
    if turn.help and not stated:
        return Intent.HELP
    if (turn.why_not and turn.modes) or (turn.what_if and stated):
        return Intent.RECOMMEND
    modes = _resolve_modes(turn, context)
    several = len(modes) >= 2 or lexicon.ALL_MODES.search(turn.text.lower()) is not None
    if several and turn.compare and not turn.recommend:
        return Intent.COMPARE  # "ambient or Cilium: which gives better latency?"
    lowered = turn.text.lower()
    own = lexicon.FIRST_PERSON.search(lowered) is not None
    ranks_modes = (
        lexicon.MODES_AS_SUBJECT.search(lowered) is not None and lexicon.NOT_MODES_AS_SUBJECT.search(lowered) is None
    )
    if turn.superlative and ranks_modes and turn.in_domain and not modes and not stated and not own:
        return Intent.COMPARE  # "which mode has the lowest latency?": all four ranked on it, not a pick for "us"
    if turn.recommend and (turn.in_domain or stated or previous is not None):  # "so which should a bank pick?"
        return Intent.RECOMMEND
    if _asks_about_a_mode(turn, stated) and not context:
        return Intent.EXPLAIN  # "can I apply my EnvoyFilters to ambient waypoints?"
    if stated and (not turn.question or own) and not turn.explain:
        return Intent.RECOMMEND  # "we're a bank with strict isolation needs." (not "can Cilium mesh VMs?")
    if previous is not None and context and turn.refers_back and not turn.modes and (turn.dimensions or turn.question):
        return Intent.COMPARE if len(context) >= 2 and previous is Intent.COMPARE else Intent.EXPLAIN
    if turn.in_domain and (turn.modes or turn.dimensions or turn.question):
        return Intent.EXPLAIN
    return None


def understand(
    plan: Plan, vectors: Vectors, clause_vectors: Sequence[Vectors], examples: Examples, *, familiar: float = 0.0
) -> Understanding:
    """Combine the keyword reading with the nearest labelled examples; `vectors` embed `plan.texts`.

    `familiar`: the share of the question's content words that the corpus contains; a question mostly made
    of words the corpus uses is about the corpus's subject even without a mesh keyword.
    """
    turns = [*plan.history, plan.current]
    unembedded: list[Vectors | None] = [None] * plan.embedded_from
    merged: dict[str, Any] = {}
    signals: list[str] = []
    stated_now: dict[str, Any] = {}
    for turn, clauses in zip(turns, [*unembedded, *clause_vectors], strict=True):
        if turn.injection:
            continue
        stated = dict(turn.stated)
        matches = examples.requirements.nearest(clauses) if clauses is not None else []
        for (example, score), span in zip(matches, turn.clauses if clauses is not None else [], strict=True):
            if score < REQUIREMENT_THRESHOLD or not _describes_own_platform(turn.text, span):
                continue
            for name, value in example.sets.items():
                if name not in stated:
                    stated[name] = value
                    signals.append(f"example:{name}={value}:{score:.2f}:{turn.text[span[0] : span[1]]!r}")
        if stated.get("regulated") is True:
            stated.setdefault("security", "high")
        merged.update(stated)
        stated_now = stated
    signals = plan.current.signals + signals
    current = plan.current
    if not current.in_domain and familiar >= FAMILIAR_SHARE:
        current = replace(current, in_domain=True)
        signals.append(f"familiar:{familiar:.2f}")
    intent = _keyword_intent(current, plan.modes if plan.followup else [], plan.previous_intent, stated_now)
    if intent is None and plan.followup and plan.previous_intent is not None:
        intent = plan.previous_intent
    if intent is None:
        (example, score), *_ = examples.intents.nearest(vectors[-1:]) or [(Example(""), 0.0)]
        grounded = current.in_domain or bool(merged) or plan.followup
        usable = grounded or example.intent in (Intent.HELP, Intent.OUT_OF_SCOPE)
        if example.intent is not None and score >= INTENT_THRESHOLD and usable:
            intent = example.intent
            signals.append(f"intent-example:{example.intent.value}:{score:.2f}")
    if intent is None:
        intent = Intent.EXPLAIN if current.in_domain else Intent.OUT_OF_SCOPE
    # "why not ambient?", "should a startup use sidecars?": where that mode stands, before the pick
    asked = _asked_modes(plan.current, stated_now)
    focus = asked[0] if (current.why_not and asked) or (intent is Intent.RECOMMEND and len(asked) == 1) else None
    return Understanding(
        intent=intent,
        modes=tuple(plan.modes),
        dimensions=tuple(plan.dimensions),
        requirements=parse_requirements(merged),
        stated_now=parse_requirements(stated_now) if not current.injection else Requirements(),
        resolved_question=plan.resolved_question,
        focus=focus,
        aspects=plan.aspects,
        changes=plan.changes,
        followup=plan.followup,
        injection=current.injection,
        signals=tuple(signals),
    )
