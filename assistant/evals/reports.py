"""Eval reports: a JSON report, a Markdown summary and JUnit XML (one testcase per fixture case)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.evals.gate import GateResult
from assistant.evals.runner import CaseResult


@dataclass(frozen=True)
class Breakdown:
    """The run taken apart: metrics per split, pass rate per kind of answer, understanding accuracy."""

    splits: dict[str, dict[str, float]]
    kinds: dict[str, dict[str, float]]
    understanding: dict[str, float]


def as_json(
    results: list[CaseResult], metrics: dict[str, float], gate: GateResult, breakdown: Breakdown
) -> dict[str, Any]:
    return {
        "metrics": metrics,
        "splits": breakdown.splits,
        "kinds": breakdown.kinds,
        "understanding": breakdown.understanding,
        "gate": {"passed": gate.passed, "failures": gate.failures},
        "cases": [
            {
                "id": r.case.id,
                "file": r.case.file,
                "question": r.case.question,
                "passed": r.passed,
                "failures": r.failures,
                "split": r.case.split,
                "intent": r.intent,
                "kind": r.answer.kind.value if r.answer else None,
                "top_mode": r.top_mode.value if r.top_mode else None,
                "refused": r.refused,
                "citations": len(r.answer.citations) if r.answer else 0,
                "first_hit_rank": r.first_hit_rank,
                "latency_ms": round(r.latency_ms, 2),
                "answer": r.text,
            }
            for r in results
        ],
    }


def failing_table(results: list[CaseResult]) -> str:
    failing = [r for r in results if not r.passed]
    if not failing:
        return "All cases passed."
    width = max(len(r.case.id) for r in failing)
    lines = [f"{'case'.ljust(width)}  reason", f"{'-' * width}  ------"]
    lines += [f"{r.case.id.ljust(width)}  {'; '.join(r.failures)}" for r in failing]
    return "\n".join(lines)


def metrics_table(metrics: dict[str, float]) -> str:
    width = max(len(name) for name in metrics)
    return "\n".join(f"{name.ljust(width)}  {value:g}" for name, value in metrics.items())


def breakdown_text(breakdown: Breakdown) -> str:
    """Pass rate per split and per kind, then the understanding accuracy (kinds and requirements)."""
    lines = ["split       cases  pass_rate"]
    lines += [f"{split:<10}  {m['cases']:>5g}  {m['pass_rate']:g}" for split, m in breakdown.splits.items()]
    lines += ["", "kind          cases  pass_rate"]
    lines += [f"{kind:<12}  {m['cases']:>5g}  {m['pass_rate']:g}" for kind, m in breakdown.kinds.items()]
    if breakdown.understanding.get("kind_cases"):
        lines += ["", "understanding (cases that state their kind or requirements)"]
        lines += [f"  {name:<22}  {value:g}" for name, value in breakdown.understanding.items()]
    return "\n".join(lines)


def markdown(results: list[CaseResult], metrics: dict[str, float], gate: GateResult, breakdown: Breakdown) -> str:
    status = "passed" if gate.passed else "FAILED"
    lines = [f"# Eval: {status}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {value:g} |" for name, value in metrics.items()]
    lines += ["", "## Breakdown", "", "```", breakdown_text(breakdown), "```"]
    if gate.failures:
        lines += ["", "## Gate failures", *[f"- {failure}" for failure in gate.failures]]
    failing = [r for r in results if not r.passed]
    if failing:
        lines += ["", "## Failing cases", "", "| case | reason |", "|---|---|"]
        lines += [f"| {r.case.id} | {'; '.join(r.failures).replace('|', '/')} |" for r in failing]
    return "\n".join(lines) + "\n"


def junit(results: list[CaseResult]) -> str:
    suite = ET.Element(
        "testsuite",
        name="mesh-assistant-eval",
        tests=str(len(results)),
        failures=str(sum(not r.passed for r in results)),
        time=f"{sum(r.latency_ms for r in results) / 1000:.3f}",
    )
    for r in results:
        case = ET.SubElement(
            suite, "testcase", classname=Path(r.case.file).stem, name=r.case.id, time=f"{r.latency_ms / 1000:.3f}"
        )
        if not r.passed:
            failure = ET.SubElement(case, "failure", message="; ".join(r.failures))
            failure.text = f"Q: {r.case.question}\n\n{r.text}"
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def write(
    directory: Path,
    results: list[CaseResult],
    metrics: dict[str, float],
    gate: GateResult,
    junit_path: Path | None,
    breakdown: Breakdown,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "eval.json").write_text(json.dumps(as_json(results, metrics, gate, breakdown), indent=2) + "\n")
    (directory / "summary.md").write_text(markdown(results, metrics, gate, breakdown))
    path = junit_path or directory / "junit.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit(results))
