"""When one machine is not enough: the index in a `chroma run` server, shared by several API processes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.indexing.build import build_index
from tests.live import free_port, process

pytestmark = pytest.mark.slow
CHROMA = Path(sys.executable).with_name("chroma")


def test_two_api_processes_share_one_chroma_server(tmp_path: Path, embedder: Embedder) -> None:
    port = free_port()
    chroma_url = f"http://127.0.0.1:{port}"
    chroma = [str(CHROMA), "run", "--path", str(tmp_path / "chroma"), "--host", "127.0.0.1", "--port", str(port)]
    with process(chroma, dict(os.environ), f"{chroma_url}/api/v2/heartbeat", tmp_path / "chroma.log"):
        report = build_index(Settings(_env_file=None, chroma_url=chroma_url, data_dir=tmp_path / "builder"), embedder)
        assert report.embedded == report.chunks > 400
        answers = []
        for name in ("a", "b"):
            api_port = free_port()
            env = {**os.environ, "ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_DATA_DIR": str(tmp_path / name)}
            command = [sys.executable, "-m", "assistant", "serve", "--port", str(api_port)]
            with process(command, env, f"http://127.0.0.1:{api_port}/readyz", tmp_path / f"api-{name}.log") as url:
                question = {"question": "How much memory does one ztunnel use?"}
                answers.append(httpx.post(f"{url}/v1/ask", json=question, timeout=60).json())
        first, second = answers
        assert first["text"] == second["text"] and first["citations"] == second["citations"]
        assert first["citations"] and first["id"] != second["id"]
        assert not (tmp_path / "a" / "chroma").exists()  # the API processes keep no index of their own
