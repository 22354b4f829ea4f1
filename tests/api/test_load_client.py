"""The load generator `make bench` uses: a minimal HTTP/1.1 client, so it must count what the server answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from assistant.bench import _hammer
from assistant.config import Settings
from assistant.service import Service
from tests.live import LiveServer, serve


def test_the_load_client_times_every_request_and_counts_errors(
    live_api: LiveServer, built_index: Path, service: Service
) -> None:
    timings, errors, elapsed = asyncio.run(_hammer(live_api.url, 30, 4))
    assert len(timings) == 30 and errors == 0 and elapsed > 0
    locked = Settings(_env_file=None, data_dir=built_index, api_keys=["k-only"], rate_limit_per_minute=100_000)
    with serve(locked, service) as server:
        timings, errors, _ = asyncio.run(_hammer(server.url, 10, 2))
    assert len(timings) == 10 and errors == 10  # every request answered 401: the client must not call that success
