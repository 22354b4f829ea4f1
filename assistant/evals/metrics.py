"""Deterministic, ID-based metrics over case results."""

from __future__ import annotations

import statistics
from collections import defaultdict

from assistant.evals.runner import CaseResult

# Quality metrics compared with the baseline: True when higher is better.
HIGHER_IS_BETTER: dict[str, bool] = {
    "pass_rate": True,
    "intent_accuracy": True,
    "top_mode_accuracy": True,
    "citation_mode_recall": True,
    "must_include_rate": True,
    "refusal_precision": True,
    "refusal_recall": True,
    "hit_at_k": True,
    "mrr": True,
    "dangling_citations": False,
}


def compute(results: list[CaseResult], *, k: int) -> dict[str, float]:
    def ratio(numerator: float, denominator: float) -> float:
        return round(numerator / denominator, 4) if denominator else 1.0

    intents = [r for r in results if r.case.expect.intent is not None]
    tops = [r for r in results if r.case.expect.top_mode is not None]
    refused = [r for r in results if r.refused]
    should_refuse = [r for r in results if r.case.expect.refuse is True]
    with_modes = [r for r in results if r.case.expect.expected_modes]
    latencies = sorted(r.latency_ms for r in results)
    return {
        "cases": len(results),
        "pass_rate": ratio(sum(r.passed for r in results), len(results)),
        "intent_accuracy": ratio(sum(r.intent == r.case.expect.intent for r in intents), len(intents)),
        "top_mode_accuracy": ratio(
            sum(r.top_mode == r.case.expect.top_mode for r in tops),
            len(tops),
        ),
        "citation_mode_recall": ratio(
            sum(r.cite_modes_found for r in results), sum(r.cite_modes_total for r in results)
        ),
        "must_include_rate": ratio(sum(r.includes_found for r in results), sum(r.includes_total for r in results)),
        "refusal_precision": ratio(sum(r.case.expect.refuse is True for r in refused), len(refused)),
        "refusal_recall": ratio(sum(r.refused for r in should_refuse), len(should_refuse)),
        "dangling_citations": sum(r.dangling for r in results),
        "hit_at_k": ratio(
            sum(r.first_hit_rank is not None and r.first_hit_rank <= k for r in with_modes), len(with_modes)
        ),
        "mrr": ratio(sum(1 / r.first_hit_rank for r in with_modes if r.first_hit_rank), len(with_modes)),
        "latency_p50_ms": round(statistics.median(latencies), 2) if latencies else 0.0,
        "latency_p95_ms": round(statistics.quantiles(latencies, n=20)[18], 2) if len(latencies) > 1 else 0.0,
    }


def by_split(results: list[CaseResult], *, k: int) -> dict[str, dict[str, float]]:
    """The metrics of each split (the folder a case's file is in: dev, held-out)."""
    splits: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        splits[result.case.split].append(result)
    return {split: compute(cases, k=k) for split, cases in sorted(splits.items())}


def by_kind(results: list[CaseResult]) -> dict[str, dict[str, float]]:
    """Pass rate per kind of answer: the kind a case expects, else the kind its answer had."""
    kinds: dict[str, list[bool]] = defaultdict(list)
    for result in results:
        kind = result.case.expect.kind or (result.answer.kind if result.answer else None)
        kinds[kind.value if kind else "withheld"].append(result.passed)
    return {
        kind: {"cases": len(passed), "pass_rate": round(sum(passed) / len(passed), 4)}
        for kind, passed in sorted(kinds.items())
    }


def understanding(results: list[CaseResult]) -> dict[str, float]:
    """How often the kind and the stated requirements were read right, over the cases that state them:
    `kind_accuracy` overall and `kind:<kind>` per expected kind; `requirement_accuracy`, the share of expected
    requirement fields read with the expected value."""
    pairs = [(r.case.expect.kind, r.answer.kind) for r in results if r.case.expect.kind and r.answer is not None]
    figures: dict[str, float] = {"kind_cases": len(pairs)}
    if pairs:
        figures["kind_accuracy"] = round(sum(expected == read for expected, read in pairs) / len(pairs), 4)
    per_kind: dict[str, list[bool]] = defaultdict(list)
    for expected, read in pairs:
        per_kind[expected.value].append(expected == read)
    figures |= {f"kind:{kind}": round(sum(hits) / len(hits), 4) for kind, hits in sorted(per_kind.items())}
    fields = right = 0
    for r in results:
        wanted = r.case.expect.requirements
        if wanted is None or r.answer is None:
            continue
        stated = r.answer.requirements.stated()
        for name, value in wanted.stated().items():
            fields += 1
            right += stated.get(name) == value
    if fields:
        figures["requirement_fields"] = fields
        figures["requirement_accuracy"] = round(right / fields, 4)
    return figures
