"""Running the API: keys and rate limits, readiness, feedback that survives restarts, schema fuzzing."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.indexing.build import build_index
from assistant.service import Service
from tests.live import LiveServer, serve


@pytest.fixture(scope="module")
def keyed_api(built_index: Path, service: Service) -> LiveServer:
    config = Settings(_env_file=None, data_dir=built_index, api_keys=["k-alpha", "k-beta"], rate_limit_per_minute=3)
    with serve(config, service) as live:
        yield live  # type: ignore[misc]


def test_api_keys_are_required_when_configured(keyed_api: LiveServer) -> None:
    url = f"{keyed_api.url}/v1/modes"
    missing = httpx.get(url)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "unauthorized"
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Basic k-alpha"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer k-alpha"}).status_code == 200
    assert httpx.get(f"{keyed_api.url}/healthz").status_code == 200  # probes need no key


def test_each_key_has_its_own_rate_limit(keyed_api: LiveServer) -> None:
    headers = {"Authorization": "Bearer k-beta"}
    statuses = [httpx.get(f"{keyed_api.url}/v1/modes", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = httpx.get(f"{keyed_api.url}/v1/modes", headers=headers)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"


def test_readiness_before_and_after_the_index_exists(tmp_path: Path, embedder: Embedder) -> None:
    config = Settings(_env_file=None, data_dir=tmp_path / "data")
    with serve(config, Service(config, embedder=embedder)) as live:
        assert httpx.get(f"{live.url}/healthz").status_code == 200
        before = httpx.get(f"{live.url}/readyz")
        assert before.status_code == 503 and "assistant index" in before.json()["error"]["hint"]
        asked = httpx.post(f"{live.url}/v1/ask", json={"question": "What is ztunnel?"}, timeout=30)
        assert asked.status_code == 503 and asked.json()["error"]["code"] == "index_not_built"
        build_index(config, embedder)  # another process would do the same with `assistant index`
        after = httpx.get(f"{live.url}/readyz")
        assert after.status_code == 200 and after.json()["chunks"] > 400
        assert httpx.post(f"{live.url}/v1/ask", json={"question": "What is ztunnel?"}, timeout=30).status_code == 200


def test_feedback_survives_a_server_restart(tmp_path: Path, built_index: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    shutil.copytree(built_index, data)
    (data / "feedback.sqlite3").unlink(missing_ok=True)  # other tests vote on the session index
    for leftover in data.glob("feedback.sqlite3-*"):
        leftover.unlink()
    config = Settings(_env_file=None, data_dir=data)
    with serve(config, Service(config, embedder=embedder)) as live:
        answer = httpx.post(f"{live.url}/v1/ask", json={"question": "What is ztunnel?"}, timeout=30).json()
        vote = {"answer_id": answer["id"], "rating": "up", "comment": "ok"}
        stored = httpx.post(f"{live.url}/v1/feedback", json=vote)
        assert stored.status_code == 201 and stored.json()["answer_id"] == answer["id"]
        assert httpx.post(f"{live.url}/v1/feedback", json={"answer_id": "x", "rating": "meh"}).status_code == 422
    with serve(config, Service(config, embedder=embedder)) as restarted:
        summary = httpx.get(f"{restarted.url}/v1/feedback/summary").json()
        assert (summary["total"], summary["up"], summary["down"]) == (1, 1, 0)
        assert summary["recent"][0]["answer_id"] == answer["id"] and summary["recent"][0]["comment"] == "ok"


def test_no_input_makes_a_server_error(live_api: LiveServer) -> None:
    """schemathesis against the live OpenAPI schema: generated inputs for every operation, never a 5xx."""
    api = schemathesis.openapi.from_url(f"{live_api.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: schemathesis.Case) -> None:
            response = case.call(base_url=live_api.url, timeout=60)
            assert response.status_code < 500, (case.method, case.path, response.text[:500])

        call()
