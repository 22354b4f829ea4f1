"""`assistant bench`: the performance figures the issues set targets for, measured in one run.

Index builds write to temporary directories; the serving index is only read (searches, asks, the load run).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from assistant.config import Settings
from assistant.corpus import load_corpus
from assistant.embeddings import Embedder
from assistant.indexing.build import build_index
from assistant.indexing.chunking import make_chunks
from assistant.indexing.records import from_record
from assistant.indexing.store import IndexStore, Manifest
from assistant.retrieval import Retriever
from assistant.service import Service

QUERIES = [
    "What is ztunnel?",
    "How much CPU does a sidecar use at 1000 requests per second?",
    "When did ambient mode reach GA?",
    "Is proxyless gRPC production ready?",
    "What is CiliumEnvoyConfig?",
    "Do waypoints add cross-zone cost?",
    "Which mode is best for a bank?",
    "How are sidecars upgraded?",
    "What does NIST SP 800-233 cover?",
    "Cilium mutual authentication deprecation",
    "What are the hard blockers for moving to ambient?",
    "Which gRPC languages support xDS?",
    "eBPF kernel L4 processing",
    "HBONE port 15008",
    "What is the latency of ambient with a waypoint?",
    "EnvoyFilter support in ambient",
]


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p95_ms: float
    samples: int

    def __str__(self) -> str:
        return f"p50 {self.p50_ms:6.2f} ms   p95 {self.p95_ms:6.2f} ms   (n={self.samples})"


def measure(action: Callable[[str], object], queries: list[str], *, rounds: int, warmup: int = 5) -> Latency:
    return measure_side_by_side({"": action}, queries, rounds=rounds, warmup=warmup)[""]


def measure_side_by_side(
    actions: dict[str, Callable[[str], object]], queries: list[str], *, rounds: int, warmup: int = 5
) -> dict[str, Latency]:
    """Each action on the same queries, taking turns query by query, so that a figure and the yardstick it is
    compared with see the same machine (a shared VM's speed drifts by 10-20% within a minute)."""
    for query in queries[:warmup]:
        for action in actions.values():
            action(query)
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for index in range(rounds):
        query = queries[index % len(queries)]
        for name, action in actions.items():
            started = time.perf_counter()
            action(query)
            timings[name].append((time.perf_counter() - started) * 1000)
    return {name: _latency(samples) for name, samples in timings.items()}


def _latency(timings: list[float]) -> Latency:
    quantiles = statistics.quantiles(timings, n=100, method="inclusive")
    return Latency(p50_ms=statistics.median(timings), p95_ms=quantiles[94], samples=len(timings))


@contextmanager
def scratch_settings(settings: Settings) -> Iterator[Settings]:
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as scratch:
        yield settings.model_copy(update={"data_dir": Path(scratch), "chroma_url": ""})


def index_throughput(settings: Settings, embedder: Embedder, *, repeats: int = 2) -> tuple[float, float, int]:
    """(index build chunks/s, raw encode chunks/s) on the same chunks with the same engine, both from cold
    (nothing reusable); each the best of `repeats` runs, taken in turns, as timeit does: the slower runs measure
    the machine's noise."""
    corpus = load_corpus(settings.corpus_dir)
    texts = [
        spec.text_with_header
        for spec in make_chunks(
            corpus.documents,
            corpus.ratings,
            token_count=embedder.token_count,
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            model_id=embedder.model_id,
        )
    ]
    build_seconds, raw_seconds = [], []
    for _ in range(repeats):
        with scratch_settings(settings) as scratch:
            started = time.perf_counter()
            report = build_index(scratch, embedder, rebuild=True)
            build_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        embedder.encode_batched(texts)  # the yardstick: the model alone, batched, on the chunks' texts
        raw_seconds.append(time.perf_counter() - started)
    return report.chunks / min(build_seconds), len(texts) / min(raw_seconds), report.chunks


def retrieval_floor(retriever: Retriever) -> Callable[[str], object]:
    """One query embedding plus the Chroma vector search: what any answer costs at least."""

    def floor(query: str) -> object:
        return retriever.nearest(retriever.embed([query])[0], 5)

    return floor


def synthetic_index(settings: Settings, embedder: Embedder, source: Retriever, size: int) -> Retriever:
    """A `size`-chunk generation built from the real chunks: jittered vectors, recombined sentences."""
    rng = np.random.default_rng(7)
    chunks, vectors = source.stored()
    store = IndexStore.open(settings, create=True)
    manifest = Manifest(
        generation=store.generation_name(),
        model=embedder.model_id,
        corpus_fingerprint="synthetic",
        built_at="synthetic",
        chunk_count=size,
    )
    collection, _ = store.new_generation(manifest)  # no sentence vectors: search does not need them
    words = [word for stored in chunks for word in stored.chunk.text.split()]
    for start in range(0, size, store.max_batch):
        count = min(store.max_batch, size - start)
        picks = rng.integers(0, len(chunks), count)
        noisy = vectors[picks] + rng.normal(0, 0.05, (count, vectors.shape[1])).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        texts = [" ".join(words[i] for i in rng.integers(0, len(words), 80)) for _ in range(count)]
        metadatas = []
        for offset, pick in enumerate(picks):
            stored = chunks[int(pick)]
            metadatas.append(
                {
                    "doc_id": f"synthetic-{start + offset}",
                    "title": stored.chunk.title,
                    "section": stored.chunk.section,
                    "source_url": stored.chunk.source_url,
                    "as_of": stored.chunk.as_of,
                    "kind": stored.chunk.kind.value,
                    "hash": f"synthetic-{start + offset}",
                    "header": stored.header,
                    **({"modes": [m.value for m in stored.chunk.modes]} if stored.chunk.modes else {}),
                }
            )
        collection.add(
            ids=[f"synthetic-{start + i}" for i in range(count)],
            embeddings=noisy,
            documents=texts,
            metadatas=metadatas,  # type: ignore[arg-type]
        )
    store.switch(manifest.generation)
    assert from_record("probe", "x", metadatas[0]).chunk.doc_id  # records read back like real ones
    return Retriever.open(settings, embedder)


ASK_QUESTIONS = [
    "We're a bank with strict isolation needs. Which mode?",
    "What is ztunnel?",
    "Compare sidecar and ambient on resource cost",
    "How much CPU does a sidecar use at 1000 requests per second?",
    "Tiny cluster, every MB counts. What should we run?",
    "When did ambient mode become generally available?",
    "Which is more secure, Cilium or sidecar?",
    "All our services speak gRPC and latency is critical. Which mode?",
]

MIXED_QUESTIONS = QUERIES + ASK_QUESTIONS  # lookups, recommendations and comparisons: what every figure runs

# Issue 16's memory target, "at most 60% of it", is relative to the full install's serving RSS when the issue was
# filed. That server did not hold torch (its model already ran on ONNX Runtime from the exported file) but held
# scikit-learn, SciPy, pandas and pyarrow for the kind model's fit. Its tree (cf27f74, the parent of the first
# commit for the issue) served this load run (2,000 computed answers at concurrency 8) on 2026-12-06 with 531, 525
# and 533 MB, beside today's tree in turn; the lowest is kept, as the least flattering. Nothing today runs the
# bundled model through torch, so a server "with torch" measured now would be a different, larger yardstick.
ISSUE_16_REFERENCE_MB = 525.0
ISSUE_16_REFERENCE = (
    "the full install's server when issue 16 was filed (cf27f74: no torch, scikit-learn for the kind model; "
    "re-measured with this load run on 2026-12-06)"
)


def run(
    service: Service, *, synthetic_size: int, rounds: int, load: int, concurrency: int, runtime: Path | None = None
) -> Iterator[str]:
    """The figures, one line at a time as they are measured."""
    settings, embedder = service.settings, service.embedder
    service.warm_up()
    retriever = service.retriever
    yield "Mesh Assistant benchmarks (medians and 95th percentiles; figures vary by about 20% between runs)"
    build_cps, raw_cps, chunks = index_throughput(settings, embedder)
    ratio = build_cps / raw_cps
    yield (
        f"index build       {build_cps:7.1f} chunks/s vs raw encode {raw_cps:7.1f} chunks/s on {chunks} chunks "
        f"({embedder.engine}): ratio {ratio:.2f} (target >= 0.80) {_verdict(ratio >= 0.8)}"
    )
    responder = service.responder  # not service.ask: its answer cache would serve every repeat
    measured = measure_side_by_side(
        {"floor": retrieval_floor(retriever), "search": lambda q: retriever.search(q, k=5), "ask": responder.answer},
        MIXED_QUESTIONS,
        rounds=rounds,
    )
    floor, search, asked = measured["floor"], measured["search"], measured["ask"]
    yield f"retrieval floor   {floor}   one query embedding + the vector search"
    yield f"search (default)  {search}   target p50 <= 12 ms {_verdict(search.p50_ms <= 12)}"
    yield (
        f"ask (in-process)  {asked}   p50 {asked.p50_ms / floor.p50_ms:.2f}x floor (target <= 1.5x) "
        f"{_verdict(asked.p50_ms <= 1.5 * floor.p50_ms)}, p95 {asked.p95_ms / floor.p95_ms:.2f}x floor "
        f"(target <= 3x) {_verdict(asked.p95_ms <= 3 * floor.p95_ms)}"
    )
    understanding = statistics.median(responder.answer(q).timings["understand"] for q in MIXED_QUESTIONS)
    yield (
        f"  of which understanding p50 {understanding:.1f} ms (the one model call, the kind model and the replay "
        "of earlier turns)"
    )
    if load:
        computed = load_run(settings, requests=load, concurrency=concurrency, answer_cache=False)
        yield (
            f"HTTP /v1/ask      {computed.latency}   {computed.per_second:.0f} answers/s at concurrency {concurrency}, "
            f"every answer computed (answer cache off), {computed.errors} errors, server RSS {computed.rss_mb:.0f} MB"
        )
        yield (
            f"                  targets: >= 50 answers/s {_verdict(computed.per_second >= 50)}, 0 errors "
            f"{_verdict(computed.errors == 0)}, RSS <= 800 MB {_verdict(computed.rss_mb <= 800)}"
        )
        repeated = load_run(settings, requests=load, concurrency=concurrency)
        yield (
            f"  repeated        {repeated.latency}   {repeated.per_second:.0f} answers/s, {repeated.errors} errors, "
            f"RSS {repeated.rss_mb:.0f} MB: the {len(MIXED_QUESTIONS)} questions again and again, as bots ask theirs"
        )
        yield (
            f"                  target: p50 <= floor + 5 ms ({floor.p50_ms + 5:.1f} ms) "
            f"{_verdict(repeated.latency.p50_ms <= floor.p50_ms + 5)} (the answer cache serves the repeats; at "
            f"concurrency {concurrency} a computed answer waits for those ahead of it)"
        )
        if runtime is not None:
            slim = load_run(settings, requests=load, concurrency=concurrency, answer_cache=False, runtime=runtime)
            share = slim.rss_mb / ISSUE_16_REFERENCE_MB
            yield (
                f"  without torch   {slim.latency}   {slim.per_second:.0f} answers/s, {slim.errors} errors, server RSS "
                f"{slim.rss_mb:.0f} MB: the serve-only runtime in {runtime} (make runtime, as the image has it); "
                f"{slim.rss_mb / computed.rss_mb:.0%} of the full install's {computed.rss_mb:.0f} MB above, whose "
                "server does not import torch either"
            )
            yield (
                f"                  target: <= 60% of {ISSUE_16_REFERENCE_MB:.0f} MB, {ISSUE_16_REFERENCE}: "
                f"{share:.0%} {_verdict(share <= 0.6)}"
            )
    if synthetic_size:
        with scratch_settings(settings) as scratch:
            started = time.perf_counter()
            large = synthetic_index(scratch, embedder, retriever, synthetic_size)
            built = time.perf_counter() - started
            big = measure(lambda q: large.search(q, k=5), MIXED_QUESTIONS, rounds=rounds)
        yield (
            f"search ({synthetic_size // 1000}k)     {big}   target p95 <= 3x default ({3 * search.p95_ms:.2f} ms) "
            f"{_verdict(big.p95_ms <= 3 * search.p95_ms)}   [synthetic index built in {built:.0f}s]"
        )


@dataclass(frozen=True)
class LoadResult:
    latency: Latency
    per_second: float
    errors: int
    rss_mb: float


def load_run(
    settings: Settings, *, requests: int, concurrency: int, answer_cache: bool = True, runtime: Path | None = None
) -> LoadResult:
    """`requests` POST /v1/ask at `concurrency` against a real `assistant serve` process on 127.0.0.1, the
    questions asked in turn; with `answer_cache` off every answer is computed, with it on the repeats are served.
    With `runtime` (a folder made by `make runtime`: venv/ from deploy/runtime.sh and the exported model/), the
    server is that runtime's, without torch, on the same index."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(settings.data_dir.resolve()),
        "ASSISTANT_RATE_LIMIT_PER_MINUTE": str(10 * requests),
        "ASSISTANT_LOG_LEVEL": "WARNING",
        **({} if answer_cache else {"ASSISTANT_ANSWER_CACHE_SIZE": "0"}),
    }
    env.pop("ASSISTANT_API_KEYS", None)
    command = [sys.executable, "-m", "assistant", "serve", "--port", str(port)]
    if runtime is not None:
        env["ASSISTANT_EMBEDDING_MODEL"] = str((runtime / "model").resolve())
        command = [str(runtime / "venv" / "bin" / "assistant"), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, server)
        timings, errors, elapsed = asyncio.run(_hammer(url, requests, concurrency))
        rss = _rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    quantiles = statistics.quantiles(timings, n=100, method="inclusive")
    latency = Latency(p50_ms=statistics.median(timings), p95_ms=quantiles[94], samples=len(timings))
    return LoadResult(latency=latency, per_second=requests / elapsed, errors=errors, rss_mb=rss)


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the API server exited; run `assistant serve` to see why")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API server did not become ready within 120 s")


async def _hammer(url: str, requests: int, concurrency: int) -> tuple[list[float], int, float]:
    """`requests` POST /v1/ask over `concurrency` keep-alive connections, the questions asked in turn. The client
    is a minimal HTTP/1.1 one, as wrk or hey are: it shares this machine's 2 cores with the server, and a full
    client library (httpx) spends about as much CPU per request as the server does, halving what can be measured."""
    address = httpx.URL(url)
    host, port = address.host, address.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    await _post(reader, writer, host, "warm up")  # the first request pays for lazy imports
    writer.close()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for index in range(requests):
        queue.put_nowait(MIXED_QUESTIONS[index % len(MIXED_QUESTIONS)])
    timings: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        while not queue.empty():
            question = queue.get_nowait()
            started = time.perf_counter()
            try:
                status = await _post(reader, writer, host, question)  # awaited first: += would read a stale count
                errors += status != 200
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)  # the server closed it: start again
            timings.append((time.perf_counter() - started) * 1000)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return timings, errors, time.perf_counter() - started


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, question: str) -> int:
    """One POST /v1/ask on an open connection; its status code (the body, of Content-Length bytes, is read)."""
    body = json.dumps({"question": question}).encode()
    head = f"POST /v1/ask HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    writer.write(f"{head}\r\n\r\n".encode() + body)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("the server closed the connection")
    status = int(status_line.split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"
