"""What a serving process holds (issue 16's memory target): libraries no request needs stay out of it until one
does, and a large model run leaves no activations behind. Each check runs in a process of its own, since the
test process has imported and allocated whatever other tests needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env or dict(os.environ), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


HELD = """
import sys
from assistant.api import create_app
create_app().state.service.warm_up()
print(" ".join(name for name in sys.argv[1:] if name in sys.modules))
"""


@pytest.mark.slow
def test_a_ready_server_holds_neither_chromas_grpc_exporter_nor_slacks_sdk_nor_the_text_splitter(
    built_index: Path,
) -> None:
    """grpc and protobuf come with Chroma's trace exporter, made only when Chroma is told to trace; Slack's SDK
    and Bolt with the first signed Slack request; LangChain's text splitter with an index build."""
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(built_index)}
    names = ["grpc", "google.protobuf", "slack_bolt", "slack_sdk", "assistant.api.slack", "langchain_text_splitters"]
    held = run_python(HELD, *names, env=env)
    assert held.split() == []


EXPORTER = """
import sys
import assistant.indexing.store  # imports chromadb
from chromadb.telemetry import opentelemetry as chroma_tracing
print("grpc" in sys.modules)
made = chroma_tracing.OTLPSpanExporter(endpoint="http://127.0.0.1:4317", insecure=True)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
print(type(made) is OTLPSpanExporter, "grpc" in sys.modules)
"""


def test_chromas_trace_exporter_is_imported_when_chroma_makes_one() -> None:
    assert run_python(EXPORTER).split() == ["False", "True", "True"]


ARENA = """
import ctypes, sys
import assistant.embeddings
from assistant.config import Settings
from assistant.embeddings import make_embedder

assistant.embeddings.RELEASE_ABOVE_TOKENS = int(sys.argv[1])
trim = ctypes.CDLL(None).malloc_trim

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20

embedder = make_embedder(Settings(_env_file=None))
embedder.encode(["What is ztunnel?"])
trim(0)
start = rss()
turn = "We run forty nodes with strict isolation needs and L7 policies in five namespaces. " * 20
embedder.encode_with_sentences([f"{turn} ({i})" for i in range(16)], [() for _ in range(16)])  # 16 x 256 tokens
trim(0)
print(rss() - start)
"""


@pytest.mark.slow
def test_a_long_conversation_leaves_no_activations_in_the_model_arena() -> None:
    """A question with 15 full-length earlier turns is one run over 16 x 256 tokens: ONNX Runtime's arena would
    keep its ~260 MB of activations for the life of the server (the yardstick, with the release turned off)."""
    released = float(run_python(ARENA, "256"))
    kept = float(run_python(ARENA, str(10**9)))
    assert kept > 150, "the yardstick did not grow: the measurement cannot tell"
    assert released < 30
