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
from tests.conftest import CORPUS

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


def test_search_before_any_index_names_the_command_to_build_it(tmp_path: Path) -> None:
    result = run(["search", "ztunnel"], ASSISTANT_DATA_DIR=str(tmp_path / "empty"))
    assert result.returncode == 1
    assert "assistant index" in result.stderr and "Traceback" not in result.stderr


def test_broken_front_matter_fails_index_with_file_and_line(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    doc = corpus / "grpc.md"
    doc.write_text(doc.read_text().replace("modes: [grpc]", "modes: [grpc, linkerd]", 1))
    result = run(["index"], ASSISTANT_CORPUS_DIR=str(corpus), ASSISTANT_DATA_DIR=str(tmp_path / "data"))
    assert result.returncode == 2
    assert f"{doc}:4: modes.1:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "chroma").exists()  # nothing half-built


def test_broken_ratings_fail_with_file_line_and_field(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    ratings = corpus / "ratings.yaml"
    ratings.write_text(ratings.read_text().replace("      score: 5\n", "      score: 9\n", 1))
    line = next(i for i, text in enumerate(ratings.read_text().splitlines(), 1) if "score: 9" in text)
    result = run(["ratings"], ASSISTANT_CORPUS_DIR=str(corpus))
    assert result.returncode == 2
    assert f"{ratings}:{line}: ratings.sidecar.security.score:" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_level_is_a_usage_error_without_traceback() -> None:
    result = run(["recommend", "--security", "extreme"])
    assert result.returncode == 2
    assert "extreme" in result.stderr and "Traceback" not in result.stderr


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
