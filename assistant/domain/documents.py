"""Documents, the sections they are split into, indexed chunks and retrieved passages."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from assistant.domain.vocabulary import Mode


class ChunkKind(StrEnum):
    DOC = "doc"  # a section of a corpus document
    RATING = "rating"  # a rating's rationale from ratings.yaml
    CAPABILITY = "capability"  # a capability fact from ratings.yaml
    FEATURE = "feature"  # a cell of the feature matrix in features.yaml
    USER = "user"  # a team's own document added with `assistant ingest`


@dataclass(frozen=True, slots=True)
class Section:
    path: str  # heading path, e.g. "Security and identity > Keys"
    text: str  # body without the Sources:/Modes: lines
    modes: tuple[Mode, ...]
    source_urls: tuple[str, ...]
    line: int  # line of the heading in the file (1-based)


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    modes: tuple[Mode, ...]
    sources: tuple[str, ...]
    as_of: str
    path: str
    sections: tuple[Section, ...]
    kind: ChunkKind = ChunkKind.DOC


@dataclass(frozen=True, slots=True)
class Chunk:
    id: str
    doc_id: str
    title: str
    section: str
    modes: tuple[Mode, ...]
    source_url: str
    as_of: str
    text: str
    kind: ChunkKind

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "modes": [m.value for m in self.modes],
            "source_url": self.source_url,
            "as_of": self.as_of,
            "kind": self.kind.value,
        }


@dataclass(frozen=True, slots=True)
class ScoredSentence:
    text: str
    score: float  # cosine similarity to the query
    vector: np.ndarray[Any, np.dtype[np.float32]] = field(compare=False, repr=False)  # its normalised embedding


@dataclass(frozen=True, slots=True)
class Passage:
    """A chunk retrieved for a query, with its fused score and its sentences scored against the query."""

    chunk: Chunk
    score: float  # reciprocal-rank-fusion score
    similarity: float  # cosine similarity of the chunk to the query
    rank: int
    sentences: tuple[ScoredSentence, ...] = field(default=())

    def public(self) -> dict[str, object]:
        return {
            **self.chunk.public(),
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 4),
            "rank": self.rank,
            "text": self.chunk.text,
        }
