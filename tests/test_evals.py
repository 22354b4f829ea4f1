"""The eval runner and its gate: exit codes, reports, metrics, and the citation invariants on every fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import PROJECT_ROOT
from assistant.domain.answers import Answer
from assistant.domain.conversation import Kind
from assistant.evals import gate, metrics, reports
from assistant.evals.fixtures import Case, load_cases
from assistant.evals.runner import judge, run_cases
from assistant.responder import CitationInvariantError
from assistant.service import Service

PUBLIC = PROJECT_ROOT / "evals" / "fixtures"
GOOD = """
cases:
  - id: good-bank
    question: "We're a bank with strict isolation needs. Which mode?"
    expect: {intent: recommend, top_mode: sidecar, cite_modes: [sidecar], must_include: ["Sidecar"]}
  - id: good-oos
    question: "What's the capital of France?"
    expect: {intent: out_of_scope, refuse: true}
"""
WRONG = """
cases:
  - id: wrong-bank
    question: "We're a bank with strict isolation needs. Which mode?"
    expect: {intent: recommend, top_mode: grpc}
"""
MALFORMED = """
cases:
  - id: fine
    question: "What is ztunnel?"
  - id: typo-case
    question: "What is a waypoint?"
    expect: {intnet: explain}
"""


def write(tmp_path: Path, text: str, name: str = "cases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_eval(tmp_path: Path, built_index: Path, fixture: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", "eval", "--fixtures", str(fixture), "--report-dir", str(tmp_path / "r"),
         "--baseline", str(tmp_path / "no-baseline.json")],
        cwd=PROJECT_ROOT,
        env={**os.environ, "ASSISTANT_DATA_DIR": str(built_index)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip


def test_a_wrong_expectation_fails_the_gate_and_names_the_case(tmp_path: Path, built_index: Path) -> None:
    result = run_eval(tmp_path, built_index, write(tmp_path, WRONG))
    assert result.returncode == 1, result.stderr
    assert "wrong-bank  top mode sidecar, expected grpc" in result.stdout
    assert f"{tmp_path.name}: pass_rate = 0, below the minimum 0.9" in result.stderr


def test_a_malformed_fixture_exits_2_naming_file_and_case(tmp_path: Path, built_index: Path) -> None:
    fixture = write(tmp_path, MALFORMED)
    result = run_eval(tmp_path, built_index, fixture)
    assert result.returncode == 2
    assert f"{fixture}:7: case 'typo-case': cases.1.expect.intnet: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_question_the_service_cannot_take_exits_2_naming_the_case(tmp_path: Path, built_index: Path) -> None:
    fixture = write(
        tmp_path, f"cases:\n  - id: fine\n    question: What is HBONE?\n  - id: too-long\n    question: {'x' * 4001}\n"
    )
    result = run_eval(tmp_path, built_index, fixture)
    assert result.returncode == 2
    assert f"{fixture}: case 'too-long': The question is longer than 4000 characters." in result.stderr
    assert "Traceback" not in result.stderr


def test_an_answer_withheld_for_a_broken_citation_fails_its_case_and_the_rest_still_run(
    service: Service, tmp_path: Path
) -> None:
    cases = load_cases([write(tmp_path, GOOD)])

    def ask(case: Case) -> Answer:  # as the responder does when a composed answer breaks an invariant
        answer = service.ask(case.question, case.history)
        if case.id == "good-bank":
            raise CitationInvariantError(
                service.check_answer(answer.model_copy(update={"text": answer.text + " [99]"}))
            )
        return answer

    results = run_cases(cases, ask, service.check_answer)
    assert [r.passed for r in results] == [False, True]
    assert results[0].failures == [
        "answer withheld: The answer broke a citation invariant: [99]: dangling: no citation entry"
    ]
    figures = metrics.compute(results, k=5)
    assert figures["dangling_citations"] == 1 and figures["pass_rate"] == 0.5
    verdict = gate.check(figures, gate.load_thresholds(PROJECT_ROOT / "evals" / "thresholds.yaml"), None)
    assert "threshold: dangling_citations = 1, above the maximum 0" in verdict.failures
    breakdown = reports.Breakdown(metrics.by_split(results, k=5), metrics.by_kind(results), {})
    reports.write(tmp_path / "r", results, figures, verdict, None, breakdown)
    cases_reported = json.loads((tmp_path / "r" / "eval.json").read_text())["cases"]
    assert cases_reported[0]["answer"] == "" and cases_reported[0]["intent"] is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases: []", "cases: List should have at least 1 item"),
        ("cases:\n  - {id: a, question: q}\n  - {id: a, question: r}\n", "case 'a': duplicate id"),
        ("cases:\n  - {id: Bad_Id, question: q}\n", "cases.0.id"),
        ("cases:\n  - {id: x, question: q, expect: {top_mode: linkerd}}\n", "case 'x': cases.0.expect.top_mode"),
        ("cases: [\n", "invalid YAML"),
    ],
)
def test_fixture_validation_messages(tmp_path: Path, text: str, message: str) -> None:
    from assistant.errors import FixtureError

    with pytest.raises(FixtureError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_cases([write(tmp_path, text)])


def test_a_passing_run_writes_json_markdown_and_junit(tmp_path: Path, built_index: Path) -> None:
    runner = CliRunner()
    junit = tmp_path / "out" / "junit.xml"
    result = runner.invoke(
        app,
        ["eval", "--fixtures", str(write(tmp_path, GOOD)), "--report-dir", str(tmp_path / "r"), "--junit", str(junit),
         "--baseline", str(tmp_path / "baseline.json"), "--update-baseline"],
        env={"ASSISTANT_DATA_DIR": str(built_index)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "All cases passed." in result.stdout and "Gate passed (2 cases)." in result.stdout
    report = json.loads((tmp_path / "r" / "eval.json").read_text())
    assert report["metrics"]["pass_rate"] == 1.0 and [c["id"] for c in report["cases"]] == ["good-bank", "good-oos"]
    assert "# Eval: passed" in (tmp_path / "r" / "summary.md").read_text()
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "2" and [c.get("name") for c in suite.iter("testcase")] == ["good-bank", "good-oos"]
    accepted = json.loads((tmp_path / "baseline.json").read_text())["metrics"]
    assert accepted["pass_rate"] == 1.0 and "latency_p50_ms" not in accepted


def test_json_output_and_baseline_regressions(tmp_path: Path, built_index: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"metrics": {"pass_rate": 1.0, "mrr": 1.0, "dangling_citations": 0}}))
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["eval", "--fixtures", str(write(tmp_path, GOOD)), "--report-dir", str(tmp_path / "r"), "--baseline",
         str(baseline), "--json"],
        env={"ASSISTANT_DATA_DIR": str(built_index)},
    )  # fmt: skip
    body = json.loads(result.stdout)
    assert body["gate"]["passed"] is (result.exit_code == 0)
    assert {c["id"]: c["passed"] for c in body["cases"]} == {"good-bank": True, "good-oos": True}


def test_gate_thresholds_baseline_and_tolerance() -> None:
    rules = gate.Thresholds(
        thresholds={"pass_rate": gate.Bound(min=1.0), "dangling_citations": gate.Bound(max=0)},
        tolerance={"default": 0.0, "mrr": 0.05},
    )
    good = {"pass_rate": 1.0, "dangling_citations": 0, "mrr": 0.9, "hit_at_k": 1.0}
    assert gate.check(good, rules, {"mrr": 0.93, "hit_at_k": 1.0}).passed  # within the mrr tolerance
    failures = gate.check({**good, "dangling_citations": 2, "hit_at_k": 0.9}, rules, {"hit_at_k": 1.0}).failures
    assert failures == [
        "threshold: dangling_citations = 2, above the maximum 0",
        "baseline: hit_at_k = 0.9, worse than the accepted 1 (tolerance 0)",
    ]
    assert gate.check(good, rules, {"dangling_citations": 1}).passed  # fewer dangling than accepted is better
    assert gate.check(good, gate.Thresholds(thresholds={"nope": gate.Bound(min=1)}), None).failures


def test_metrics_over_real_answers(service: Service, tmp_path: Path) -> None:
    cases = load_cases([write(tmp_path, GOOD + WRONG.replace("cases:\n", ""))])
    results = [judge(case, answer, 10.0, service.check_answer(answer)) for case in cases for answer in [
        service.ask(case.question, case.history)]]  # fmt: skip
    figures = metrics.compute(results, k=5)
    assert figures["cases"] == 3 and figures["pass_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert figures["top_mode_accuracy"] == 0.5 and figures["intent_accuracy"] == 1.0
    assert figures["refusal_precision"] == 1.0 and figures["refusal_recall"] == 1.0
    assert figures["dangling_citations"] == 0 and figures["hit_at_k"] == 1.0


def test_the_public_fixtures_meet_the_issue_minimums() -> None:
    cases = load_cases([PUBLIC])
    ids = [case.id for case in cases]
    by_intent: dict[str | None, int] = {}
    for case in cases:
        by_intent[case.expect.intent] = by_intent.get(case.expect.intent, 0) + 1
    assert len(cases) >= 150 and len(set(ids)) == len(ids)
    held_out = [case for case in cases if case.split == "held-out"]
    assert len(held_out) >= 70 and {case.expect.kind for case in held_out} >= set(Kind)
    assert by_intent.get("recommend", 0) >= 25 and by_intent.get("compare", 0) >= 15
    assert by_intent.get("explain", 0) >= 25 and by_intent.get("out_of_scope", 0) >= 8
    assert sum(1 for case in cases if case.history) >= 8


def test_citation_invariants_hold_on_every_public_fixture(service: Service) -> None:
    for case in load_cases([PUBLIC]):
        answer = service.ask(case.question, case.history)
        assert service.check_answer(answer) == [], case.id


def test_each_split_is_gated_on_its_own_and_kinds_and_understanding_are_reported(
    tmp_path: Path, built_index: Path
) -> None:
    (tmp_path / "dev").mkdir()
    (tmp_path / "held-out").mkdir()
    write(tmp_path / "dev", GOOD)
    write(
        tmp_path / "held-out",
        """
cases:
  - id: kind-bank
    question: "We're a bank with strict isolation needs. Which mode?"
    expect: {kind: recommend, intent: recommend, top_mode: sidecar, requirements: {regulated: true}}
  - id: kind-definition
    question: "What is ztunnel?"
    expect: {kind: definition, intent: explain, must_include: ["a phrase no answer has"]}
""",
    )
    result = CliRunner().invoke(
        app,
        ["eval", "--fixtures", str(tmp_path / "dev"), "--fixtures", str(tmp_path / "held-out"), "--report-dir",
         str(tmp_path / "r"), "--baseline", str(tmp_path / "none.json"), "--json"],
        env={"ASSISTANT_DATA_DIR": str(built_index)},
    )  # fmt: skip
    body = json.loads(result.stdout)
    assert body["splits"]["dev"]["pass_rate"] == 1.0 and body["splits"]["held-out"]["pass_rate"] == 0.5
    assert body["kinds"]["definition"] == {"cases": 1, "pass_rate": 0.0}
    assert body["understanding"]["kind_accuracy"] == 1.0 and body["understanding"]["requirement_accuracy"] == 1.0
    assert result.exit_code == 1 and any(
        f.startswith("threshold: held-out: pass_rate") for f in body["gate"]["failures"]
    )
    assert {c["id"]: c["split"] for c in body["cases"]}["kind-bank"] == "held-out"


def test_a_split_without_bounds_of_its_own_takes_the_default() -> None:
    rules = gate.Thresholds(
        thresholds={}, splits={"default": {"pass_rate": gate.Bound(min=0.9)}, "dev": {"pass_rate": gate.Bound(min=0.5)}}
    )
    splits = {"dev": {"pass_rate": 0.6}, "hidden": {"pass_rate": 0.8}}
    assert gate.check({}, rules, None, splits).failures == ["threshold: hidden: pass_rate = 0.8, below the minimum 0.9"]
