"""A real PostgreSQL and a real Redis on 127.0.0.1, each in a temporary folder, for the tests of several replicas.

Debian's `postgresql` and `redis-server` (`make test` installs them when missing). PostgreSQL refuses to run as
root, so as root its commands run as the `postgres` user the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.live import free_port

HINT = "`make test` installs Debian's postgresql and redis-server when they are missing"


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parents[1].name))
    if not found:
        pytest.fail(f"PostgreSQL is not installed: {HINT}")
    return Path(found[-1]).parent


@contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL server of its own; yields its URL (user `mesh`, trusted on loopback, database `postgres`)."""
    binaries, port = _postgres_bin(), free_port()
    as_user: dict[str, Any] = {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}
    folder = Path(tempfile.mkdtemp(prefix="mesh-postgres-"))
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
    data, log = folder / "data", folder / "server.log"
    run = {"check": True, "capture_output": True, **as_user}
    subprocess.run([binaries / "initdb", "-D", data, "-U", "mesh", "--auth=trust", "-E", "UTF8"], **run)
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=on -c synchronous_commit=on"
    subprocess.run([binaries / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start"], **run)
    try:
        yield f"postgresql://mesh@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop"], **run)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[str]:
    """A Redis server of its own, with no persistence; yields its URL."""
    binary = shutil.which("redis-server") or pytest.fail(f"redis-server is not installed: {HINT}")
    port, folder = free_port(), Path(tempfile.mkdtemp(prefix="mesh-redis-"))
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder), "--save", ""]
    with (folder / "server.log").open("w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, (folder / "server.log").read_text()
                time.sleep(0.1)
        client.close()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=15)
        shutil.rmtree(folder, ignore_errors=True)
