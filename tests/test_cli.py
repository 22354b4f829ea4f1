"""The command line as users run it: real processes for error paths (no traceback), CliRunner otherwise."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import get_settings
from assistant.service import Service
from tests.conftest import CORPUS
from tests.test_decision_record import check_citations

runner = CliRunner()


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the corpus, for tests that break it."""
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy)
    return copy


def test_search_before_any_index_names_the_command_to_build_it(tmp_path: Path) -> None:
    result = run(["search", "ztunnel"], ASSISTANT_DATA_DIR=str(tmp_path / "empty"))
    assert result.returncode == 1
    assert "assistant index" in result.stderr and "Traceback" not in result.stderr


def test_broken_front_matter_fails_index_with_file_and_line(corpus: Path, tmp_path: Path) -> None:
    doc = corpus / "grpc.md"
    doc.write_text(doc.read_text().replace("modes: [grpc]", "modes: [grpc, linkerd]", 1))
    result = run(["index"], ASSISTANT_CORPUS_DIR=str(corpus), ASSISTANT_DATA_DIR=str(tmp_path / "data"))
    assert result.returncode == 2
    assert f"{doc}:4: modes.1:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "chroma").exists()  # nothing half-built


def test_broken_ratings_fail_with_file_line_and_field(corpus: Path) -> None:
    ratings = corpus / "ratings.yaml"
    ratings.write_text(ratings.read_text().replace("      score: 5\n", "      score: 9\n", 1))
    line = next(i for i, text in enumerate(ratings.read_text().splitlines(), 1) if "score: 9" in text)
    result = run(["ratings"], ASSISTANT_CORPUS_DIR=str(corpus))
    assert result.returncode == 2
    assert f"{ratings}:{line}: ratings.sidecar.security.score:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [(["--security", "extreme"], "'extreme' is not one of"), (["--kubernetes"], "No such option: --kubernetes")],
)
def test_an_unknown_level_or_flag_is_a_usage_error_without_traceback(args: list[str], problem: str) -> None:
    result = run(["recommend", *args])
    assert result.returncode == 2
    assert problem in result.stderr and "Traceback" not in result.stderr


def test_a_ratings_file_missing_a_dimension_fails_recommend_naming_it(corpus: Path) -> None:
    ratings = corpus / "ratings.yaml"
    text = ratings.read_text()
    start = text.index("    network_efficiency:\n      score: 3\n      rationale: The extra hops")
    ratings.write_text(text[:start] + text[text.index("  ambient:\n    security:") :])
    result = run(["recommend", "--security", "high"], ASSISTANT_CORPUS_DIR=str(corpus))
    assert result.returncode == 2
    assert f"{ratings}:" in result.stderr and "ratings.sidecar: missing dimensions network_efficiency" in result.stderr
    assert "Traceback" not in result.stderr


def test_search_json_has_the_documented_shape(built_index: Path) -> None:
    result = runner.invoke(
        app, ["search", "ztunnel memory", "--k", "3", "--json"], env={"ASSISTANT_DATA_DIR": str(built_index)}
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    assert set(hits[0]) == {"doc_id", "title", "section", "modes", "score", "text", "source_url"}


def test_search_text_output_and_mode_filter(built_index: Path) -> None:
    result = runner.invoke(
        app,
        ["search", "upgrades", "--mode", "cilium", "--k", "2"],
        env={"ASSISTANT_DATA_DIR": str(built_index)},
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1. ") and "https://" in result.stdout
    assert len(re.findall(r"  \[[^\]]*cilium[^\]]*\]  score", result.stdout)) == 2


def test_ratings_json_has_matrix_rationales_sources_and_capabilities() -> None:
    result = runner.invoke(app, ["ratings", "--json"])
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)
    assert table["modes"] == ["sidecar", "ambient", "cilium", "grpc"]
    cell = table["ratings"]["ambient"]["manageability"]
    assert cell["score"] == 5 and cell["rationale"] and cell["source"]["url"].startswith("https://")
    assert table["capabilities"]["vm_workloads"]["modes"]["ambient"]["status"] == "unsupported"


def test_ratings_table_lists_every_mode_and_dimension() -> None:
    result = runner.invoke(app, ["ratings"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["dimension", "sidecar", "ambient", "cilium", "grpc"]
    assert any(line.startswith("Security") and line.split()[1:] == ["5", "4", "2", "3"] for line in lines)


@pytest.mark.parametrize(
    ("args", "first"),
    [
        (["--security", "high", "--regulated"], "sidecar"),
        (["--no-restarts"], "ambient"),
        (["--cilium"], "cilium"),
    ],
)
def test_recommend_json(args: list[str], first: str) -> None:
    result = runner.invoke(app, ["recommend", *args, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert {"requirements", "ranking", "excluded", "assumptions", "counterfactuals"} <= set(body)
    assert body["ranking"][0]["mode"] == first
    assert {"mode", "rank", "score", "reasons", "caveats"} <= set(body["ranking"][0])
    assert [entry["rank"] for entry in body["ranking"]] == list(range(1, len(body["ranking"]) + 1))
    assert all(set(reason) == {"text", "ref"} for entry in body["ranking"] for reason in entry["reasons"])


def test_recommend_json_lists_each_excluded_mode_with_its_reason() -> None:
    result = runner.invoke(app, ["recommend", "--grpc", "none", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    [excluded] = body["excluded"]
    assert set(excluded) == {"mode", "reason"} and excluded["mode"] == "grpc"
    assert "none of your services speak gRPC" in excluded["reason"]["text"]
    assert excluded["reason"]["ref"].startswith("capability:")
    assert "grpc" not in [entry["mode"] for entry in body["ranking"]]


def test_recommend_text_shows_ranking_exclusions_assumptions_and_counterfactuals() -> None:
    result = runner.invoke(app, ["recommend", "--vms", "--performance", "high"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert (
        out.index("1  Sidecar")
        < out.index("Excluded:")
        < out.index("Assumptions:")
        < out.index("What would change this:")
    )
    assert "Ambient cannot mesh VM workloads" in out


# ask and chat: the responder from a terminal -------------------------------------------------------------------
BANK = [{"role": "user", "content": "We're a bank. Which mode?"}, {"role": "assistant", "content": "Sidecar."}]


def test_ask_json_reads_the_history_file(built_index: Path, service: Service, tmp_path: Path) -> None:
    history = tmp_path / "turns.json"
    history.write_text(json.dumps(BANK))
    result = runner.invoke(
        app, ["ask", "why not ambient?", "--history-file", str(history), "--json"],
        env={"ASSISTANT_DATA_DIR": str(built_index)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    expected = service.ask("why not ambient?", BANK)
    assert body["text"] == expected.text and body["requirements"]["regulated"] is True
    assert body["recommendation"]["ranking"][0]["mode"] == "sidecar"
    assert [c["n"] for c in body["citations"]] == list(range(1, len(body["citations"]) + 1))


def test_ask_prints_the_answer_then_its_sources(built_index: Path, service: Service) -> None:
    result = runner.invoke(app, ["ask", "What is HBONE?"], env={"ASSISTANT_DATA_DIR": str(built_index)})
    assert result.exit_code == 0, result.output
    answer = service.ask("What is HBONE?")
    assert result.stdout.startswith(answer.text)
    for citation in answer.citations:
        assert f"[{citation.n}]" in result.stdout.split(answer.text, 1)[1] and citation.source_url in result.stdout


@pytest.mark.parametrize(
    ("content", "problem"),
    [("[{", "Cannot read the history file"), ('{"role": "user"}', "must hold a JSON list of turns")],
)
def test_a_broken_history_file_is_a_clear_error(built_index: Path, tmp_path: Path, content: str, problem: str) -> None:
    history = tmp_path / "turns.json"
    history.write_text(content)
    result = run(["ask", "why?", "--history-file", str(history)], ASSISTANT_DATA_DIR=str(built_index))
    assert result.returncode == 2
    assert problem in result.stderr and "Traceback" not in result.stderr


def test_chat_keeps_the_conversation_until_new(built_index: Path, service: Service) -> None:
    turns = ["We're a bank. Which mode?", "why not ambient?", "", "/new", "why not ambient?", "/quit"]
    result = runner.invoke(app, ["chat"], input="\n".join(turns) + "\n", env={"ASSISTANT_DATA_DIR": str(built_index)})
    assert result.exit_code == 0, result.output
    first = service.ask(turns[0])
    follow_up = service.ask(
        turns[1], [{"role": "user", "content": turns[0]}, {"role": "assistant", "content": first.text}]
    )
    afresh = service.ask(turns[1])
    assert follow_up.text != afresh.text  # the test can tell a remembered conversation from a new one
    out = result.stdout
    assert out.index(first.text) < out.index(follow_up.text) < out.index("(new conversation)") < out.rindex(afresh.text)


def test_chat_reports_bad_input_and_goes_on(built_index: Path) -> None:
    result = runner.invoke(
        app, ["chat"], input="x" * 4001 + "\nWhat is HBONE?\n", env={"ASSISTANT_DATA_DIR": str(built_index)}
    )
    assert result.exit_code == 0, result.output
    assert "error: The question is longer than 4000 characters." in result.output
    assert "HBONE" in result.stdout.split("assistant> ")[-1]


CLUSTER_ARGS = ["--nodes", "40", "--pods", "1200", "--l7-scopes", "5", "--rps", "10000", "--zones", "3"]


def test_estimate_prints_totals_then_each_figure_with_its_source_and_the_assumptions() -> None:
    result = runner.invoke(app, ["estimate", *CLUSTER_ARGS, "--grpc-share", "0.3"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Estimated data-plane cost for 40 nodes, 1,200 meshed pods, 5 L7 scopes, 10,000 requests")
    assert re.search(r"^Sidecar\s+4\.00 vCPU\s+72\.0 GB\s+yes$", out, re.MULTILINE)
    assert re.search(r"^Cilium\s+no published figure\s+no published figure\s+no$", out, re.MULTILINE)
    assert "https://istio.io/latest/docs/ops/deployment/performance-and-scalability/" in out
    assert "! Proxyless gRPC meshes gRPC traffic only: 30% of your requests." in out
    assert "Assumptions (figures checked by 2026-04-15):" in out


def test_estimate_json_is_the_api_shape() -> None:
    result = runner.invoke(app, ["estimate", "--nodes", "3", "--pods", "30", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["cluster"] == {"nodes": 3, "pods": 30, "l7_scopes": 0, "requests_per_second": 0.0, "grpc_share": None,
                               "zones": None}  # fmt: skip
    assert [m["mode"] for m in body["modes"]] == ["sidecar", "ambient", "cilium", "grpc"]


def test_recommend_with_cluster_numbers_shows_the_estimate_under_the_ranking() -> None:
    result = runner.invoke(app, ["recommend", "--resources", "high", *CLUSTER_ARGS])
    assert result.exit_code == 0, result.output
    assert result.output.index("What would change this:") < result.output.index("Estimated data-plane cost for 40")


def test_recommend_adr_prints_the_decision_record() -> None:
    result = runner.invoke(app, ["recommend", "--security", "high", "--regulated", *CLUSTER_ARGS, "--adr"])
    assert result.exit_code == 0, result.output
    stated = {"security": "high", "regulated": True, "cluster": {"nodes": 40, "pods": 1200, "l7_scopes": 5,
              "requests_per_second": 10000, "zones": 3}}  # fmt: skip
    assert result.output == Service(get_settings()).decision_record(stated)
    assert "# Use Sidecar as the service-mesh data plane" in result.output
    check_citations(result.output)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--nodes", "2", "--pods", "10", "--zones", "3"], "zones (3) cannot exceed nodes (2)"),
        (["--pods", "10"], "The estimate needs the cluster's --nodes and --pods."),
        (["--nodes", "2", "--pods", "10", "--grpc-share", "30"], "grpc_share: Input should be less than or equal to 1"),
    ],
)
def test_bad_cluster_numbers_are_an_error_without_traceback(args: list[str], problem: str) -> None:
    result = run(["estimate", *args])
    assert result.returncode == 2
    assert problem in result.stderr and "hint:" in result.stderr and "Traceback" not in result.stderr


def test_a_broken_sizing_figure_fails_with_file_line_and_field(corpus: Path) -> None:
    sizing = corpus / "sizing.yaml"
    sizing.write_text(sizing.read_text().replace("memory: {value: 60, unit: MB}", "memory: {value: -60, unit: MB}", 1))
    line = next(i for i, text in enumerate(sizing.read_text().splitlines(), 1) if "value: -60" in text)
    result = run(["estimate", "--nodes", "3", "--pods", "30"], ASSISTANT_CORPUS_DIR=str(corpus))
    assert result.returncode == 2
    assert f"{sizing}:{line}: components.sidecar_envoy.memory.value:" in result.stderr
    assert "Traceback" not in result.stderr
