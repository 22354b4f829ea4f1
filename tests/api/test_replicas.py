"""Several replicas: two `assistant serve` processes, each with a data directory of its own, share their state
through a real PostgreSQL (feedback) and a real Redis (rate limits, Slack's delivery and answer memory)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from assistant.config import Settings
from assistant.service import Service
from tests.api.test_slack import SECRET, TOKEN, button_click, dm, event, signature_headers
from tests.databases import postgres, redis_server
from tests.live import free_port, process, serve
from tests.slack_fake import JSON, FakeSlack

pytestmark = pytest.mark.slow
KEYS = ["k-rate", "k-feedback", "k-kill"]
PER_MINUTE = 10
PROXIED = {"X-Forwarded-For": "203.0.113.9"}  # a client behind the trusted proxy (127.0.0.1)
FORM = "application/x-www-form-urlencoded"


@dataclass
class Replicas:
    urls: list[str]
    database_url: str
    redis_url: str
    slack: FakeSlack
    env: dict[str, str]
    folder: Path

    def data_dir(self, name: str, built_index: Path) -> Path:
        """A copy of the session's index without the feedback and Slack files other tests left: a replica's own."""
        data = self.folder / name
        shutil.copytree(built_index, data, ignore=shutil.ignore_patterns("feedback.sqlite3*", "slack.sqlite3*"))
        return data

    def rows(self) -> list[tuple[int, str, str]]:
        engine = create_engine(self.database_url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as connection:
            found = connection.execute(text("SELECT id, answer_id, comment FROM feedback ORDER BY id")).all()
        engine.dispose()
        return [(int(row[0]), str(row[1]), str(row[2])) for row in found]


@pytest.fixture(scope="module")
def replicas(built_index: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    folder = tmp_path_factory.mktemp("replicas")
    slack = FakeSlack()
    with ExitStack() as stack:
        database_url, redis_url = stack.enter_context(postgres()), stack.enter_context(redis_server())
        env = {name: value for name, value in os.environ.items() if not name.startswith("ASSISTANT_")}
        env |= {
            "ASSISTANT_MODEL_CACHE_DIR": str(models_dir),
            "ASSISTANT_DATABASE_URL": database_url,
            "ASSISTANT_REDIS_URL": redis_url,
            "ASSISTANT_API_KEYS": ",".join(KEYS),
            "ASSISTANT_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE),
            "ASSISTANT_TRUSTED_PROXIES": "127.0.0.1",
            "ASSISTANT_SLACK_SIGNING_SECRET": SECRET,
            "ASSISTANT_SLACK_BOT_TOKEN": TOKEN,
            "ASSISTANT_SLACK_API_URL": f"{slack.url}/api/",
        }
        shared = Replicas([], database_url, redis_url, slack, env, folder)
        for name in ("a", "b"):
            port = free_port()
            replica_env = {**env, "ASSISTANT_DATA_DIR": str(shared.data_dir(name, built_index))}
            command = [sys.executable, "-m", "assistant", "serve", "--port", str(port)]
            ready = f"http://127.0.0.1:{port}/readyz"
            shared.urls.append(stack.enter_context(process(command, replica_env, ready, folder / f"{name}.log")))
        yield shared
    slack.server.shutdown()
    slack.server.server_close()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def slack_post(url: str, body: str, content_type: str, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = signature_headers(body) if headers is None else headers
    return httpx.post(f"{url}/slack/events", content=body, headers={"Content-Type": content_type, **headers})


def test_a_keys_rate_limit_holds_across_both(replicas: Replicas) -> None:
    a, b = replicas.urls
    statuses = [httpx.get(f"{(a, b)[i % 2]}/v1/modes", headers=auth("k-rate")).status_code for i in range(14)]
    assert statuses == [200] * PER_MINUTE + [429] * 4  # alone, each replica would have allowed 10
    limited = httpx.get(f"{b}/v1/modes", headers=auth("k-rate"))
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert httpx.get(f"{a}/v1/modes", headers=auth("k-feedback")).status_code == 200  # another key, its own limit


def test_wrong_keys_are_throttled_per_address_across_both(replicas: Replicas) -> None:
    a, b = replicas.urls
    guesses = [httpx.get(f"{(a, b)[i % 2]}/v1/modes", headers={**PROXIED, **auth(f"guess-{i}")}) for i in range(14)]
    assert [r.status_code for r in guesses] == [401] * 10 + [429] * 4  # the default: 10 a minute, for both
    assert httpx.get(f"{b}/v1/modes", headers={**PROXIED, **auth("k-rate")}).status_code == 429  # not even tried
    assert httpx.get(f"{b}/v1/modes", headers=auth("k-feedback")).status_code == 200  # another address


def test_a_retried_slack_event_is_answered_once_across_both(replicas: Replicas) -> None:
    a, b = replicas.urls
    slack = replicas.slack
    body = event({**dm("Which mode uses the least memory?", "1700000800.000100"), "channel": "D8"}, f"Ev{uuid.uuid4()}")
    with ThreadPoolExecutor(2) as pool:  # the same delivery reaching both replicas at once
        first = list(pool.map(lambda url: slack_post(url, body, JSON), (a, b)))
    assert [r.status_code for r in first] == [200, 200]
    [posted] = slack.wait_for("/api/chat.postMessage", channel="D8")
    for url in (a, b):
        retry = {**signature_headers(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert slack_post(url, body, JSON, retry).status_code == 200
    for url, channel in ((a, "D9"), (b, "D10")):  # work queued after the retries, on each replica, is done
        later = {**dm("Is ambient mature?", f"1700000900.{channel[1:]:0>6}"), "channel": channel}
        assert slack_post(url, event(later), JSON).status_code == 200
        slack.wait_for("/api/chat.postMessage", channel=channel)
    assert len(slack.matching("/api/chat.postMessage", channel="D8")) == 1

    # the answer one replica posted is known to both: a click on its thumbs counts on either
    answer_id = next(
        element["value"]
        for block in posted.body["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    )
    for url in (a, b):
        response_url = slack.response_url()
        assert slack_post(url, button_click("feedback_up", answer_id, response_url), FORM).status_code == 200
        [thanks] = slack.wait_for(urlsplit(response_url).path)
        assert thanks.body["text"] == "Thanks for the feedback!"
    assert [row[1] for row in replicas.rows()].count(answer_id) == 2


def test_feedback_written_through_either_is_counted_once(replicas: Replicas) -> None:
    a, b = replicas.urls
    before = httpx.get(f"{a}/v1/feedback/summary", headers=auth("k-feedback")).json()["total"]
    tag = uuid.uuid4().hex
    for index, url in enumerate((a, b, a, b)):
        vote = {"answer_id": f"answer-{tag}", "rating": "up" if index % 2 else "down", "comment": f"{tag}-{index}"}
        assert httpx.post(f"{url}/v1/feedback", json=vote, headers=auth("k-feedback")).status_code == 201
    summaries = [httpx.get(f"{url}/v1/feedback/summary", headers=auth("k-feedback")).json() for url in (a, b)]
    assert summaries[0] == summaries[1]
    assert summaries[0]["total"] == before + 4
    mine = [row for row in replicas.rows() if row[1] == f"answer-{tag}"]
    assert sorted(row[2] for row in mine) == [f"{tag}-{index}" for index in range(4)]
    assert len({row[0] for row in mine}) == 4


def test_a_killed_replica_loses_no_committed_feedback(replicas: Replicas, built_index: Path) -> None:
    """A third replica takes votes from 4 clients at once and is killed with SIGKILL while they are still voting:
    every vote it acknowledged (201) is in the database, once."""
    port = free_port()
    env = {**replicas.env, "ASSISTANT_DATA_DIR": str(replicas.data_dir("victim", built_index))}
    env["ASSISTANT_RATE_LIMIT_PER_MINUTE"] = "100000"
    command = [sys.executable, "-m", "assistant", "serve", "--port", str(port)]
    tag, acknowledged, lock = uuid.uuid4().hex, [], threading.Lock()

    def vote(worker: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth("k-kill"), timeout=10) as client:
            for index in range(10_000):
                comment = f"{tag}-{worker}-{index}"
                try:
                    response = client.post("/v1/feedback", json={"answer_id": tag, "rating": "up", "comment": comment})
                except httpx.TransportError:
                    return  # the replica is gone: this vote was never acknowledged
                if response.status_code == 201:
                    with lock:
                        acknowledged.append(response.json()["id"])

    ready = f"http://127.0.0.1:{port}/readyz"
    with process(command, env, ready, replicas.folder / "victim.log"):
        pid = _pid_serving(port)
        workers = [threading.Thread(target=vote, args=(n,)) for n in range(4)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
        for worker in workers:
            worker.join(timeout=30)
    stored = [row[0] for row in replicas.rows() if row[1] == tag]
    assert len(acknowledged) >= 40
    assert set(acknowledged) <= set(stored) and len(stored) == len(set(stored))
    assert len(stored) - len(acknowledged) <= 4  # at most the votes in flight when it died, never acknowledged


def _pid_serving(port: int) -> int:
    """The `assistant serve --port PORT` process (the `process` helper's child)."""
    wanted = ["-m", "assistant", "serve", "--port", str(port)]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().decode().split("\0")[1:-1] == wanted:
                return int(cmdline.parent.name)
        except OSError:
            continue  # a process that has gone since the listing
    raise AssertionError(f"no process serves port {port}")


def test_a_replica_whose_redis_is_gone_answers_503_saying_so(built_index: Path, service: Service) -> None:
    """Rate limits cannot be counted without the shared Redis: 503 with what to check, never a 500."""
    with redis_server() as redis_url:
        settings = Settings(_env_file=None, data_dir=built_index, redis_url=SecretStr(redis_url))
        with serve(settings, service) as live:
            assert httpx.get(f"{live.url}/v1/modes").status_code == 200
            stop = redis.Redis.from_url(redis_url)
            with contextlib.suppress(redis.ConnectionError):
                stop.shutdown(nosave=True)
            gone = httpx.get(f"{live.url}/v1/modes")
            assert gone.status_code == 503 and gone.json()["error"]["code"] == "unavailable"
            assert "ASSISTANT_REDIS_URL" in gone.json()["error"]["hint"]
            assert httpx.get(f"{live.url}/healthz").status_code == 200  # probes outside /v1 still answer
