"""A real uvicorn server on 127.0.0.1 for end-to-end tests (started in a thread, like httpx's serve_in_thread)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from assistant.api import create_app
from assistant.config import Settings
from assistant.service import Service


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    settings: Settings
    service: Service


@contextmanager
def serve(settings: Settings, service: Service | None = None) -> Iterator[LiveServer]:
    """Run the API in a thread until the block ends; wait until it answers /healthz."""
    port = free_port()
    app = create_app(settings, service=service)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200 and server.started:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=url, settings=settings, service=app.state.service)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
