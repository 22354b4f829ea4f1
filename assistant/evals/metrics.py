"""Deterministic, ID-based metrics over case results."""

from __future__ import annotations

import statistics

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
