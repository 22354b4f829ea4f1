"""Build (or update) the index: chunk the corpus and ingested files, embed what changed, switch generations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.corpus import corpus_fingerprint, load_corpus
from assistant.embeddings import Embedder, Vectors
from assistant.errors import IndexCorruptError
from assistant.indexing.chunking import ChunkSpec, make_chunks
from assistant.indexing.ingest import load_user_documents
from assistant.indexing.records import chunk_metadata, group_sentences, sentence_records
from assistant.indexing.store import (
    FORMAT_VERSION,
    IndexStore,
    Manifest,
    build_lock,
    parsing,
    read_all,
    set_aside,
)

Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)
_NONE: Vectors = np.zeros((0, 0), dtype=np.float32)
PROGRESS_STEP = 32  # chunks embedded between progress reports


@dataclass(frozen=True)
class BuildReport:
    generation: str
    chunks: int
    embedded: int
    reused: int
    removed: int
    seconds: float
    embed_seconds: float
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Vectors:
    """A chunk's embedding and its sentence vectors."""

    chunk: Vectors
    sentences: Vectors


def build_index(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    add_paths: Iterable[str] = (),
    progress: Progress | None = None,
) -> BuildReport:
    """Index the corpus plus every ingested path; embed only chunks whose content hash is new (`rebuild`: all).

    Whatever state the data directory is in, this ends with one serving generation and no other: a store or
    serving generation that cannot be read is set aside first (logged), and its vectors are never reused.
    """
    started = time.perf_counter()
    corpus = load_corpus(settings.corpus_dir)
    with build_lock(settings):
        store, current, previous = _open_serving(settings)
        user_paths = tuple(
            sorted(set(current.user_paths if current else ()) | {str(Path(p).resolve()) for p in add_paths})
        )
        user_docs, warnings = load_user_documents(user_paths)
        specs = make_chunks(
            [*corpus.documents, *user_docs],
            corpus.ratings,
            token_count=embedder.token_count,
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            model_id=embedder.model_id,
        )
        reusable = previous if current and current.model == embedder.model_id and not rebuild else {}
        todo = [spec for spec in specs if spec.content_hash not in reusable]

        embed_started = time.perf_counter()
        vectors = {**reusable, **_embed(embedder, todo, progress)}
        embed_seconds = time.perf_counter() - embed_started

        manifest = Manifest(
            generation=store.generation_name(),
            model=embedder.model_id,
            corpus_fingerprint=corpus_fingerprint(settings.corpus_dir),
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            chunk_count=len(specs),
            user_paths=user_paths,
        )
        _write(store, manifest, specs, vectors)
        store.switch(manifest.generation)  # the one step that makes the new generation serve
        store.drop_generations(keep=manifest.generation)

    return BuildReport(
        generation=manifest.generation,
        chunks=len(specs),
        embedded=len(todo),
        reused=len(specs) - len(todo),
        removed=len(set(previous) - {spec.content_hash for spec in specs}),
        seconds=time.perf_counter() - started,
        embed_seconds=embed_seconds,
        warnings=warnings,
    )


def _open_serving(settings: Settings) -> tuple[IndexStore, Manifest | None, dict[str, _Vectors]]:
    """The store to build in, the serving generation's manifest and its vectors by content hash. A store or
    generation that cannot be read is set aside: the build starts from the corpus, keeping only the ingested
    paths of a manifest that could still be read."""
    try:
        store = IndexStore.open(settings, create=True)
    except IndexCorruptError as exc:
        return set_aside(settings, exc.message), None, {}
    current = None
    try:
        current = store.current()
        if current is None or current.format != FORMAT_VERSION:  # an older format is rebuilt, not read
            return store, current, {}
        return store, current, _stored_vectors(store, current)
    except IndexCorruptError as exc:
        return set_aside(settings, exc.message), current, {}


def _stored_vectors(store: IndexStore, current: Manifest) -> dict[str, _Vectors]:
    """The serving generation's chunk and sentence vectors, by content hash."""
    chunks = read_all(store.collection(current.generation), ["embeddings", "metadatas"])
    sentences = read_all(store.sentences(current.generation), ["embeddings", "metadatas"])
    with parsing(current.generation):
        by_hash = group_sentences(sentences["embeddings"], sentences["metadatas"], "hash")
        return {
            str(meta["hash"]): _Vectors(np.asarray(vector, dtype=np.float32), by_hash.get(str(meta["hash"]), _NONE))
            for vector, meta in zip(chunks["embeddings"], chunks["metadatas"], strict=True)
        }


def _embed(embedder: Embedder, specs: list[ChunkSpec], progress: Progress | None) -> dict[str, _Vectors]:
    """Each sentence embedded on its own (the responder scores sentences against the question), and each chunk
    as the normalised mean of its header's and its sentences' vectors: one pass over the text, no second one.

    Sentences are embedded once each (overlapping chunks share some), shortest batches together, since padding
    to a batch's longest text is what makes many short texts slow.
    """
    if not specs:
        return {}
    headers = sorted({spec.header.strip() for spec in specs})
    header_vectors = dict(zip(headers, embedder.encode_batched(headers), strict=True))
    texts = sorted({sentence for spec in specs for sentence in spec.sentences}, key=lambda text: (len(text), text))
    sentence_vectors: dict[str, Vectors] = {}
    step = max(1, len(texts) * PROGRESS_STEP // len(specs))  # about PROGRESS_STEP chunks' worth per report
    for start in range(0, len(texts), step):
        batch = texts[start : start + step]
        sentence_vectors.update(zip(batch, embedder.encode_batched(batch), strict=True))
        if progress is not None:
            progress(len(specs) * len(sentence_vectors) // len(texts), len(specs))
    vectors: dict[str, _Vectors] = {}
    for spec in specs:
        own = np.asarray([sentence_vectors[text] for text in spec.sentences], dtype=np.float32)
        own = own.reshape(-1, embedder.dimension)  # a chunk without sentences keeps a (0, dimension) block
        pooled = np.vstack([header_vectors[spec.header.strip()][None, :], own]).mean(axis=0)
        vectors[spec.content_hash] = _Vectors(pooled / (np.linalg.norm(pooled) or 1.0), own)
    return vectors


def _write(store: IndexStore, manifest: Manifest, specs: list[ChunkSpec], vectors: dict[str, _Vectors]) -> None:
    chunks, sentences = store.new_generation(manifest)
    for start in range(0, len(specs), store.max_batch):
        batch = specs[start : start + store.max_batch]
        metadatas: list[Any] = [chunk_metadata(spec) for spec in batch]
        chunks.add(
            ids=[spec.chunk.id for spec in batch],
            embeddings=np.asarray([vectors[spec.content_hash].chunk for spec in batch], dtype=np.float32),
            documents=[spec.chunk.text for spec in batch],
            metadatas=metadatas,
        )
    records = sentence_records(specs, [vectors[spec.content_hash].sentences for spec in specs])
    for start in range(0, len(records.ids), store.max_batch):
        end = start + store.max_batch
        sentence_metadatas: list[Any] = records.metadatas[start:end]
        sentences.add(
            ids=records.ids[start:end], embeddings=records.embeddings[start:end], metadatas=sentence_metadatas
        )
