"""The estimate and the decision record over HTTP, against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.live import LiveServer
from tests.test_decision_record import check_citations

CLUSTER = {"nodes": 40, "pods": 1200, "l7_scopes": 5, "requests_per_second": 10_000, "grpc_share": 0.3, "zones": 3}


def test_estimate_gives_every_mode_with_cited_figures_and_assumptions(live_api: LiveServer) -> None:
    response = httpx.post(f"{live_api.url}/v1/estimate", json=CLUSTER, timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["cluster"] == CLUSTER
    modes = {m["mode"]: m for m in body["modes"]}
    assert list(modes) == ["sidecar", "ambient", "cilium", "grpc"]
    assert (modes["sidecar"]["cpu_millicores"], modes["sidecar"]["memory_mb"]) == (4000.0, 72000.0)
    assert (modes["cilium"]["cpu_millicores"], modes["cilium"]["memory_mb"]) == (None, None)
    parts = [p for m in body["modes"] for p in m["components"]]
    assert all(p["source"]["url"].startswith("https://") for p in parts)
    assert all(p["figure"] for p in parts) and body["assumptions"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"nodes": 0, "pods": 10}, "body.nodes"),
        ({"pods": 10}, "body.nodes"),
        ({"nodes": 3, "pods": 10, "grpc_share": 2}, "body.grpc_share"),
        ({"nodes": 2, "pods": 10, "zones": 3}, "body"),
        ({"nodes": 2, "pods": 10, "clusters": 3}, "body.clusters"),
        ({"nodes": "many", "pods": 10}, "body.nodes"),
    ],
)
def test_bad_cluster_numbers_are_a_422_naming_the_field(live_api: LiveServer, body: dict[str, Any], field: str) -> None:
    response = httpx.post(f"{live_api.url}/v1/estimate", json=body, timeout=30)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and field in {f["field"] for f in error["fields"]}


def test_a_recommendation_with_cluster_numbers_carries_the_estimate(live_api: LiveServer) -> None:
    requirements = {"resources": "high", "grpc": "none", "cluster": CLUSTER}
    with_cluster = httpx.post(f"{live_api.url}/v1/recommend", json={"requirements": requirements}, timeout=30)
    assert with_cluster.status_code == 200
    estimate = with_cluster.json()["estimate"]
    assert estimate["cluster"] == CLUSTER and len(estimate["modes"]) == 4
    without = httpx.post(f"{live_api.url}/v1/recommend", json={"requirements": {"resources": "high"}}, timeout=30)
    assert without.json()["estimate"] is None


def test_an_answer_s_decision_record_is_the_one_its_requirements_give(live_api: LiveServer) -> None:
    answer = httpx.post(f"{live_api.url}/v1/ask", json={"question": "We're a bank. Which mode?"}, timeout=30).json()
    assert answer["recommendation"] is not None
    by_id = httpx.get(f"{live_api.url}/v1/answers/{answer['id']}/decision-record", timeout=30)
    assert by_id.status_code == 200 and by_id.headers["content-type"].startswith("text/markdown")
    posted = httpx.post(
        f"{live_api.url}/v1/decision-record",
        json={"requirements": answer["recommendation"]["requirements"]},
        timeout=30,
    )
    assert posted.status_code == 200 and posted.text == by_id.text
    assert re.search(r"^# Use Sidecar as the service-mesh data plane$", by_id.text, re.MULTILINE)
    check_citations(by_id.text)


def test_a_decision_record_from_posted_requirements_includes_the_estimate(live_api: LiveServer) -> None:
    requirements = {"security": "high", "cluster": CLUSTER}
    first = httpx.post(f"{live_api.url}/v1/decision-record", json={"requirements": requirements}, timeout=30)
    again = httpx.post(f"{live_api.url}/v1/decision-record", json={"requirements": requirements}, timeout=30)
    assert first.status_code == 200 and first.text == again.text
    assert "### Estimated data-plane cost" in first.text and "| Sidecar | 4.00 vCPU | 72.0 GB |" in first.text
    check_citations(first.text)


def test_decision_record_errors_use_the_error_body(live_api: LiveServer) -> None:
    unknown = httpx.get(f"{live_api.url}/v1/answers/no-such-answer/decision-record", timeout=30)
    assert unknown.status_code == 404
    assert (
        unknown.json()["error"]["code"] == "not_found" and "/v1/decision-record" in unknown.json()["error"]["message"]
    )
    refused = httpx.post(f"{live_api.url}/v1/ask", json={"question": "What's the capital of France?"}, timeout=30)
    no_record = httpx.get(f"{live_api.url}/v1/answers/{refused.json()['id']}/decision-record", timeout=30)
    assert no_record.status_code == 404  # an answer without a recommendation has no decision record
    bad = httpx.post(f"{live_api.url}/v1/decision-record", json={"requirements": {"security": "extreme"}}, timeout=30)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "body.requirements.security"
