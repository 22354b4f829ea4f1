"""Run eval cases through the service and judge each answer against its expectations."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.domain.answers import Answer
from assistant.domain.vocabulary import Mode
from assistant.errors import FixtureError, UserError
from assistant.evals.fixtures import Case
from assistant.responder import CitationInvariantError
from assistant.responder.citations import CitationProblem


@dataclass
class CaseResult:
    case: Case
    answer: Answer | None  # None: the answer broke a citation invariant and was withheld
    latency_ms: float
    failures: list[str] = field(default_factory=list)
    citation_problems: list[CitationProblem] = field(default_factory=list)
    includes_found: int = 0
    includes_total: int = 0
    cite_modes_found: int = 0
    cite_modes_total: int = 0
    first_hit_rank: int | None = None  # 1-based rank of the first retrieved passage about an expected mode

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def top_mode(self) -> Mode | None:
        return self.answer.recommendation.top if self.answer and self.answer.recommendation else None

    @property
    def intent(self) -> str | None:
        return self.answer.intent.value if self.answer else None

    @property
    def refused(self) -> bool:
        return self.answer is not None and self.answer.refused and not self.answer.citations

    @property
    def text(self) -> str:
        return self.answer.text if self.answer else ""

    @property
    def dangling(self) -> int:
        return sum(1 for p in self.citation_problems if p.problem.startswith("dangling"))


Ask = Callable[[Case], Answer]
Check = Callable[[Answer], list[CitationProblem]]


def run_cases(cases: list[Case], ask: Ask, check: Check) -> list[CaseResult]:
    """Each case asked and judged; a case the service cannot take (too long, say) is a fixture error naming it,
    and an answer withheld for a broken citation fails its case, named, while the others still run."""
    results = []
    for case in cases:
        started = time.perf_counter()
        try:
            answer = ask(case)
        except UserError as exc:
            raise FixtureError(f"{case.file}: case {case.id!r}: {exc.message}", hint=exc.hint) from exc
        except CitationInvariantError as exc:
            latency = (time.perf_counter() - started) * 1000
            withheld = CaseResult(case=case, answer=None, latency_ms=latency, citation_problems=exc.problems)
            withheld.failures.append(f"answer withheld: {exc.message}")
            results.append(withheld)
            continue
        latency = (time.perf_counter() - started) * 1000
        results.append(judge(case, answer, latency, check(answer)))
    return results


def judge(case: Case, answer: Answer, latency_ms: float, problems: list[CitationProblem]) -> CaseResult:
    """Every expectation the case states, checked; the reason for each that does not hold."""
    expect = case.expect
    result = CaseResult(case=case, answer=answer, latency_ms=latency_ms, citation_problems=problems)
    failures = result.failures
    if problems:
        failures.append("invalid citations: " + "; ".join(f"{p.marker} {p.problem}" for p in problems[:3]))
    if expect.intent is not None and answer.intent.value != expect.intent:
        failures.append(f"intent {answer.intent.value}, expected {expect.intent}")
    ranking = [r.mode for r in answer.recommendation.ranking] if answer.recommendation else []
    excluded = {e.mode for e in answer.recommendation.excluded} if answer.recommendation else set()
    if expect.top_mode is not None and (ranking[:1] != [expect.top_mode]):
        failures.append(f"top mode {ranking[0].value if ranking else 'none'}, expected {expect.top_mode.value}")
    if expect.ranking_prefix and ranking[: len(expect.ranking_prefix)] != expect.ranking_prefix:
        got = ", ".join(m.value for m in ranking[: len(expect.ranking_prefix)]) or "none"
        failures.append(f"ranking starts {got}, expected {', '.join(m.value for m in expect.ranking_prefix)}")
    missing_exclusions = [m.value for m in expect.excluded_modes if m not in excluded]
    if missing_exclusions:
        failures.append(f"not excluded: {', '.join(missing_exclusions)}")
    cited = {mode for citation in answer.citations for mode in citation.modes}
    result.cite_modes_total = len(expect.cite_modes)
    result.cite_modes_found = sum(1 for mode in expect.cite_modes if mode in cited)
    uncited = [m.value for m in expect.cite_modes if m not in cited]
    if uncited:
        failures.append(f"no citation about: {', '.join(uncited)}")
    text = answer.text.lower()
    result.includes_total = len(expect.must_include)
    for item in expect.must_include:
        options = [item] if isinstance(item, str) else item
        if any(option.lower() in text for option in options):
            result.includes_found += 1
        else:
            failures.append(f"missing {' | '.join(options)!r}")
    for phrase in expect.must_not_include:
        if phrase.lower() in text:
            failures.append(f"contains {phrase!r}")
    if expect.refuse is True and not result.refused:
        failures.append("expected a refusal without citations")
    if expect.refuse is False and answer.refused:
        failures.append("refused, expected an answer")
    wanted = expect.expected_modes
    if wanted:
        result.first_hit_rank = next(
            (rank for rank, passage in enumerate(answer.retrieved, start=1) if wanted & set(passage.modes)), None
        )
    return result
