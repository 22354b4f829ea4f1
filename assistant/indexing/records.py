"""Chunks to Chroma records and back.

A generation holds two collections: the chunks (embedding, text, metadata) and their sentences (one record per
sentence: the contextual sentence vector, keyed by the chunk's content hash and position).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.domain.documents import Chunk, ChunkKind
from assistant.domain.vocabulary import Mode
from assistant.embeddings import Vectors
from assistant.indexing.chunking import ChunkSpec


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as read back from the index, with what retrieval needs to score its sentences."""

    chunk: Chunk
    content_hash: str
    spans: tuple[tuple[int, int], ...]
    header: str


@dataclass(frozen=True)
class SentenceRecords:
    ids: list[str]
    embeddings: Vectors
    metadatas: list[dict[str, Any]]


def chunk_metadata(spec: ChunkSpec) -> dict[str, Any]:
    chunk = spec.chunk
    metadata: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "section": chunk.section,
        "source_url": chunk.source_url,
        "as_of": chunk.as_of,
        "kind": chunk.kind.value,
        "hash": spec.content_hash,
        "header": spec.header,
        "spans": [int(x) for span in spec.spans for x in span],
    }
    if chunk.modes:  # Chroma rejects empty lists: no key means "no mode"
        metadata["modes"] = [mode.value for mode in chunk.modes]
    if spec.source_urls:
        metadata["source_urls"] = list(spec.source_urls)
    return metadata


SENTENCE_MARK = "#s"


def sentence_id(chunk_id: str, position: int) -> str:
    return f"{chunk_id}{SENTENCE_MARK}{position}"


def chunk_of_sentence(sentence: str) -> str:
    """The chunk id a sentence id was made from (the mark is split off at its last occurrence)."""
    return sentence.rsplit(SENTENCE_MARK, 1)[0]


def sentence_records(specs: Sequence[ChunkSpec], vectors: Sequence[Vectors]) -> SentenceRecords:
    ids: list[str] = []
    metadatas: list[dict[str, Any]] = []
    for spec, rows in zip(specs, vectors, strict=True):
        for position in range(len(rows)):
            ids.append(sentence_id(spec.chunk.id, position))
            metadatas.append({"chunk_id": spec.chunk.id, "hash": spec.content_hash, "position": position})
    dimension = vectors[0].shape[1] if vectors else 0
    stacked = np.vstack(vectors) if ids else np.zeros((0, dimension), dtype=np.float32)
    return SentenceRecords(ids=ids, embeddings=stacked, metadatas=metadatas)


def group_sentences(embeddings: Any, metadatas: Sequence[Mapping[str, Any]], key: str) -> dict[str, Vectors]:
    """Sentence vectors grouped by `key` (chunk_id or hash), rows in sentence order."""
    grouped: dict[str, list[tuple[int, Any]]] = {}
    for vector, meta in zip(embeddings, metadatas, strict=True):
        grouped.setdefault(str(meta[key]), []).append((int(meta["position"]), vector))
    return {
        name: np.asarray([vector for _, vector in sorted(rows, key=lambda row: row[0])], dtype=np.float32)
        for name, rows in grouped.items()
    }


def from_record(chunk_id: str, text: str, metadata: Mapping[str, Any]) -> StoredChunk:
    flat = [int(x) for x in metadata.get("spans", [])]
    chunk = Chunk(
        id=chunk_id,
        doc_id=str(metadata["doc_id"]),
        title=str(metadata["title"]),
        section=str(metadata["section"]),
        modes=tuple(Mode(m) for m in metadata.get("modes", [])),
        source_url=str(metadata["source_url"]),
        as_of=str(metadata["as_of"]),
        text=text,
        kind=ChunkKind(metadata["kind"]),
    )
    return StoredChunk(
        chunk=chunk,
        content_hash=str(metadata["hash"]),
        spans=tuple(zip(flat[::2], flat[1::2], strict=True)),
        header=str(metadata.get("header", "")),
    )
