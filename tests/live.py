"""Real servers on 127.0.0.1 for end-to-end tests: the API in a thread (like httpx's serve_in_thread), or any
server as a process of its own."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from assistant.api import SERVER_OPTIONS, create_app
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
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **SERVER_OPTIONS))
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


@contextmanager
def process(args: list[str], env: dict[str, str], ready: str, log: Path, *, cwd: Path | None = None) -> Iterator[str]:
    """Start a server process (its output in `log`), wait until GET `ready` answers 200, stop it afterwards."""
    with log.open("w") as output:
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(ready, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.2)
            yield ready.rsplit("/", 1)[0]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
