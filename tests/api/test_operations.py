"""Running the API: keys and rate limits, the loopback-only bind without keys, JSON logs with request ids,
readiness, feedback that survives restarts, schema fuzzing."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.indexing.build import build_index
from assistant.service import Service
from tests.live import LiveServer, free_port, process, serve


@pytest.fixture(scope="module")
def keyed_api(built_index: Path, service: Service) -> LiveServer:
    keys = ["k-alpha", "k-beta", "k-gamma"]
    config = Settings(_env_file=None, data_dir=built_index, api_keys=keys, rate_limit_per_minute=3)
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
    other = {"Authorization": "Bearer k-gamma"}  # used by no other test, so its bucket is full
    assert [httpx.get(f"{keyed_api.url}/v1/modes", headers=other).status_code for _ in range(3)] == [200, 200, 200]
    assert httpx.get(f"{keyed_api.url}/v1/modes", headers=headers).status_code == 429  # k-beta is still limited


@dataclass
class ServeProcess:
    port: int
    log: Path  # what the process wrote (on stderr: stdout stays empty)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def served_without_keys(
    built_index: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    """`assistant serve --host 0.0.0.0` as an operator would start it, with no API keys; its output kept in a file.
    It runs in an empty folder with no ASSISTANT_* variables but the index's and the model's, so no .env or
    shell can add keys."""
    workdir = tmp_path_factory.mktemp("serve")
    env = {name: value for name, value in os.environ.items() if not name.startswith("ASSISTANT_")}
    env |= {"ASSISTANT_DATA_DIR": str(built_index), "ASSISTANT_MODEL_CACHE_DIR": str(models_dir)}
    served = ServeProcess(port=free_port(), log=workdir / "serve.log")
    command = [sys.executable, "-m", "assistant", "serve", "--host", "0.0.0.0", "--port", str(served.port)]
    with process(command, env, f"{served.url}/readyz", served.log, cwd=workdir):
        yield served


def listening_addresses(port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses with a TCP socket listening on `port`, from the kernel's tables (/proc/net/tcp and tcp6)."""
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                words = [int(address[i : i + 8], 16) for i in range(0, len(address), 8)]  # each in host order
                found.add(ipaddress.ip_address(b"".join(struct.pack("=I", word) for word in words)))
    return found


def outward_address() -> str | None:
    """This machine's address on its default route (what another host would connect to), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # TEST-NET-2; a UDP connect only picks the route, it sends nothing
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the kernel's socket table (Linux)")
def test_without_keys_serve_binds_to_loopback_only_and_says_so(served_without_keys: ServeProcess) -> None:
    warning, notice, *_ = served_without_keys.log.read_text().splitlines()
    assert warning.startswith("warning: no API keys configured") and "refusing to bind 0.0.0.0" in warning
    assert notice == "No API keys configured: serving on 127.0.0.1 only, without authentication."
    assert httpx.get(f"{served_without_keys.url}/v1/modes").status_code == 200  # and no key is asked for
    assert listening_addresses(served_without_keys.port) == {ipaddress.ip_address("127.0.0.1")}
    address = outward_address()
    if address is not None:
        with pytest.raises(ConnectionRefusedError):  # nothing listens there
            socket.create_connection((address, served_without_keys.port), timeout=5).close()


@pytest.mark.slow
def test_log_lines_are_json_with_the_request_id_of_the_response(served_without_keys: ServeProcess) -> None:
    given = httpx.get(f"{served_without_keys.url}/v1/modes", headers={"X-Request-ID": "trace-4711"})
    generated = httpx.get(f"{served_without_keys.url}/v1/search", params={"q": "ztunnel", "k": 2})
    assert given.headers["x-request-id"] == "trace-4711"
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    ids = {given.headers["x-request-id"]: "/v1/modes", generated.headers["x-request-id"]: "/v1/search"}

    deadline = time.monotonic() + 10  # the request line is written just after the response
    while True:
        written = served_without_keys.log.read_text()
        lines = written[: written.rfind("\n") + 1].splitlines()[2:]  # whole lines, after the two start messages
        entries = [json.loads(line) for line in lines]  # every log line is one JSON object
        logged = {e["request_id"]: e for e in entries if e["msg"] == "request" and e["request_id"] in ids}
        if len(logged) == len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert {rid: entry["path"] for rid, entry in logged.items()} == ids
    assert all(entry["status"] == 200 and entry["logger"] == "assistant.api" for entry in logged.values())
    assert all({"ts", "level", "logger", "msg", "request_id"} <= entry.keys() for entry in entries)
    assert any(entry["msg"].startswith("Uvicorn running on") for entry in entries)  # uvicorn's own lines too


def test_readiness_before_and_after_the_index_exists(tmp_path: Path, embedder: Embedder) -> None:
    config = Settings(_env_file=None, data_dir=tmp_path / "data")
    with serve(config, Service(config, embedder=embedder)) as live:
        assert httpx.get(f"{live.url}/healthz").status_code == 200
        before = httpx.get(f"{live.url}/readyz")
        assert before.status_code == 503 and "assistant index" in before.json()["error"]["hint"]
        asked = httpx.post(f"{live.url}/v1/ask", json={"question": "What is ztunnel?"}, timeout=30)
        assert asked.status_code == 503 and asked.json()["error"]["code"] == "index_not_built"
        build_index(config, embedder)  # another process would do the same with `assistant index`
        after = httpx.get(f"{live.url}/readyz", timeout=60)  # it opens the new index
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
