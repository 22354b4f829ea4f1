"""The feature and status matrix: complete and sourced, strict about broken cells, and read by the rule layer."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.corpus import load_features, load_ratings
from assistant.domain.features import FeatureStatus, feature_ref
from assistant.domain.requirements import Requirements
from assistant.domain.vocabulary import Mode
from assistant.errors import CorpusError, InvalidRequirementError
from assistant.rules import recommend
from assistant.service import Service
from tests.conftest import CORPUS
from tests.live import LiveServer

MATRIX = CORPUS / "features.yaml"
RATINGS = load_ratings(CORPUS / "ratings.yaml")
runner = CliRunner()


def test_the_matrix_has_forty_features_and_every_cell_is_dated_and_sourced() -> None:
    matrix = load_features(MATRIX)
    assert len(matrix.features) >= 40
    for feature in matrix.features.values():
        assert set(feature.modes) == set(Mode)
        for cell in feature.modes.values():
            assert cell.since and cell.since_date and cell.read and cell.source.startswith("https://") and cell.note
    statuses = {cell.status for feature in matrix.features.values() for cell in feature.modes.values()}
    assert {FeatureStatus.SUPPORTED, FeatureStatus.NOT_SUPPORTED, FeatureStatus.DEPRECATED} <= statuses


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("        read: 2026-12-05\n", "", "read"),  # a cell without its read date
        ("        status: supported\n", "        status: sorta\n", "status"),
        ('        since: "Istio 1.5"\n', "", "since"),
    ],
)
def test_a_broken_cell_names_file_line_and_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    text = MATRIX.read_text()
    assert old in text
    broken = tmp_path / "features.yaml"
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(CorpusError) as raised:
        load_features(broken)
    error = raised.value
    assert error.path == str(broken) and error.line is not None and field in error.field
    lines = broken.read_text().splitlines()
    assert "modes" in error.field and lines[error.line - 1].strip()  # the line of the cell in the file


def test_an_alias_naming_two_features_is_rejected(tmp_path: Path) -> None:
    text = MATRIX.read_text()
    first = re.search(r'aliases: \["([^"]+)"', text)
    assert first is not None
    broken = tmp_path / "features.yaml"
    broken.write_text(text.replace('aliases: ["kiali"', f'aliases: ["{first.group(1)}"', 1))
    with pytest.raises(CorpusError, match="names both"):
        load_features(broken)


def _needing(*features: str, **requirements: Any) -> tuple[set[Mode], dict[Mode, str]]:
    result = recommend(Requirements(needs=features, **requirements), RATINGS)
    caveats = {r.mode: " ".join(c.ref for c in r.caveats) for r in result.ranking}
    return {e.mode for e in result.excluded}, caveats


def test_a_hard_need_excludes_the_modes_whose_cell_misses_it_citing_the_cell() -> None:
    matrix = RATINGS.features
    assert matrix is not None
    for name in ("jobs_cronjobs", "sandboxed_runtimes", "openshift", "outlier_detection", "envoyfilter"):
        feature = matrix.features[name]
        missing = {
            m
            for m, cell in feature.modes.items()
            if cell.status in (FeatureStatus.NOT_SUPPORTED, FeatureStatus.DEPRECATED)
        }
        result = recommend(Requirements(needs=(name,)), RATINGS)
        excluded = {e.mode: e.reason.ref for e in result.excluded}
        if feature.fact is not None:  # judged by its requirement fact's rule instead, never twice
            assert excluded == {}
            continue
        if feature.need == "hard":
            assert set(excluded) == missing, name
            assert all(ref == feature_ref(name, mode) for mode, ref in excluded.items())
        else:
            assert not excluded and all(feature_ref(name, m) in _needing(name)[1][m] for m in missing)


def test_needs_change_the_recommendation() -> None:
    plain = recommend(Requirements(simplicity="high"), RATINGS)
    sandboxed = recommend(Requirements(simplicity="high", needs=("sandboxed_runtimes",)), RATINGS)
    assert plain.top is Mode.AMBIENT
    assert sandboxed.top != Mode.AMBIENT
    assert Mode.AMBIENT in {e.mode for e in sandboxed.excluded}
    assert feature_ref("sandboxed_runtimes", Mode.AMBIENT) in sandboxed.refs()


@pytest.mark.parametrize(
    ("sentence", "feature"),
    [
        ("We run a lot of CronJobs for billing. Which mode?", "jobs_cronjobs"),
        ("Some of our tenants run under gVisor. Which data plane fits?", "sandboxed_runtimes"),
        ("We're on OpenShift, what should we use?", "openshift"),
        ("We depend on outlier detection to eject bad hosts. Which mode?", "outlier_detection"),
    ],
)
def test_a_need_stated_in_words_becomes_a_constraint_with_its_cell_cited(
    service: Service, sentence: str, feature: str
) -> None:
    answer = service.ask(sentence)
    assert feature in answer.requirements.needs
    assert answer.recommendation is not None
    refs = answer.recommendation.refs()
    assert any(ref.startswith(f"feature:{feature}:") for ref in refs)
    cited = {c.chunk_id for c in answer.citations}
    assert any(ref.startswith(f"feature:{feature}:") for ref in cited), answer.text


def test_asking_about_a_feature_states_no_need(service: Service) -> None:
    assert service.ask("Does ambient support gVisor?").requirements.needs == ()


def test_a_yes_or_no_question_gets_its_verdict_from_the_matrix(service: Service) -> None:
    answer = service.ask("Can I use EnvoyFilter with ambient waypoints?")
    assert answer.text.startswith("No")
    assert f"feature:envoyfilter:{Mode.AMBIENT.value}" in {c.chunk_id for c in answer.citations}


def test_the_service_rejects_an_unknown_need(service: Service) -> None:
    with pytest.raises(InvalidRequirementError, match="unknown feature"):
        service.recommend({"needs": ["teleportation"]})


def test_features_over_http_filter_by_feature_and_mode(live_api: LiveServer) -> None:
    whole = httpx.get(f"{live_api.url}/v1/features", timeout=30).json()
    assert len(whole["features"]) >= 40 and whole["modes"] == [m.value for m in Mode]
    one = httpx.get(f"{live_api.url}/v1/features", params={"feature": "envoyfilter", "mode": "ambient"}, timeout=30)
    row = one.json()["features"]["envoyfilter"]
    assert list(row["modes"]) == ["ambient"] and row["modes"]["ambient"]["status"] == "not_supported"
    unknown = httpx.get(f"{live_api.url}/v1/features", params={"feature": "warp-drive"}, timeout=30)
    assert unknown.status_code == 422 and "unknown feature" in unknown.json()["error"]["message"]
    needing = httpx.post(
        f"{live_api.url}/v1/recommend", json={"requirements": {"needs": ["sandboxed_runtimes"]}}, timeout=30
    )
    assert needing.status_code == 200 and "ambient" in {e["mode"] for e in needing.json()["excluded"]}


def test_features_in_the_terminal(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("assistant.cli.knowledge.service", lambda: service)
    table = runner.invoke(app, ["features", "--differ"])
    assert table.exit_code == 0 and "envoyfilter" in table.output and "not supported" in table.output
    column = runner.invoke(app, ["features", "--mode", "grpc", "--json"])
    data = json.loads(column.output)
    assert column.exit_code == 0 and data["modes"] == ["grpc"]
    assert all(list(row["modes"]) == ["grpc"] for row in data["features"].values())
    one = runner.invoke(app, ["features", "--feature", "jobs_cronjobs"])
    assert one.exit_code == 0 and "since" in one.output and "https://" in one.output


def test_sources_older_than_list_what_was_read_before_then(service: Service, live_api: LiveServer) -> None:
    everything = service.sources(today=date(2026, 12, 5))
    assert len(everything["documents"]) >= 28 and len(everything["cells"]) >= 160
    stale = service.sources(older_than_days=60, today=date(2026, 12, 5))  # read before 2026-10-06
    assert stale["documents"] and all(d["as_of"] < "2026-10-06" for d in stale["documents"])
    assert all(c["read"] < "2026-10-06" for c in stale["cells"])
    assert len(stale["documents"]) < len(everything["documents"])  # the documents written on 2026-12-05 are fresh
    over_http = httpx.get(f"{live_api.url}/v1/sources", params={"older_than": 0}, timeout=30).json()
    assert over_http["older_than_days"] == 0 and over_http["documents"]
    assert httpx.get(f"{live_api.url}/v1/sources", params={"older_than": -1}, timeout=30).status_code == 422


def test_sources_in_the_terminal(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("assistant.cli.knowledge.service", lambda: service)
    listed = runner.invoke(app, ["sources", "--older-than", "30", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output)["older_than_days"] == 30
    table = runner.invoke(app, ["sources"])
    assert table.exit_code == 0 and "matrix cell" in table.output
