"""Eval reports: a JSON report, a Markdown summary and JUnit XML (one testcase per fixture case)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from assistant.evals.gate import GateResult
from assistant.evals.runner import CaseResult


def as_json(results: list[CaseResult], metrics: dict[str, float], gate: GateResult) -> dict[str, Any]:
    return {
        "metrics": metrics,
        "gate": {"passed": gate.passed, "failures": gate.failures},
        "cases": [
            {
                "id": r.case.id,
                "file": r.case.file,
                "question": r.case.question,
                "passed": r.passed,
                "failures": r.failures,
                "intent": r.intent,
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


def markdown(results: list[CaseResult], metrics: dict[str, float], gate: GateResult) -> str:
    status = "passed" if gate.passed else "FAILED"
    lines = [f"# Eval: {status}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {value:g} |" for name, value in metrics.items()]
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
    directory: Path, results: list[CaseResult], metrics: dict[str, float], gate: GateResult, junit_path: Path | None
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "eval.json").write_text(json.dumps(as_json(results, metrics, gate), indent=2) + "\n")
    (directory / "summary.md").write_text(markdown(results, metrics, gate))
    path = junit_path or directory / "junit.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit(results))
