"""Hybrid search over the index: dense over chunks (Chroma's HNSW) and over sentences (exact, in memory, up to
EXACT_SENTENCES; Chroma's HNSW beyond) plus BM25, fused by reciprocal rank fusion.

The serving generation is loaded once into an immutable snapshot (chunks, BM25, chunk and sentence vectors);
`refresh()` swaps in a new snapshot when another process has switched the index to a new generation.
The dense query asks Chroma for ids and distances only: the snapshot already holds every chunk, and
materialising documents and metadata (as LangChain's vector store does) cost 2 ms of a 12 ms budget.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np

from assistant.config import Settings
from assistant.corpus import corpus_fingerprint
from assistant.domain.documents import Chunk, Passage, ScoredSentence
from assistant.domain.text import names, plain, terms, written_names
from assistant.domain.vocabulary import Mode
from assistant.embeddings import Embedder, Vectors
from assistant.errors import AssistantError, IndexCorruptError, IndexMismatchError
from assistant.indexing.records import StoredChunk, chunk_of_sentence, from_record, group_sentences
from assistant.indexing.store import FORMAT_VERSION, IndexStore, Manifest, guarded, parsing, read_all

RRF_K = 60
MIN_FETCH = 20
RARE_WORD = 0.02  # a question's name the corpus never writes as one, only as a word in this share of chunks
REFRESH_INTERVAL = 2.0  # seconds between checks for a generation another process switched to
EXACT_SENTENCES = 20_000  # up to this many, ranking sentences in memory beats a Chroma query (2 ms, approximate)


@dataclass(frozen=True)
class IndexStatus:
    generation: str
    model: str
    chunks: int
    built_at: str
    stale: bool  # the corpus changed since this generation was built


class _Snapshot:
    """One generation, loaded: immutable once built, so searches never see half an update."""

    def __init__(self, store: IndexStore, manifest: Manifest, embedder: Embedder) -> None:
        self.manifest = manifest
        self.collection = store.collection(manifest.generation)
        self.sentence_collection = store.sentences(manifest.generation)
        got = read_all(self.collection, ["embeddings", "documents", "metadatas"])
        sentences = read_all(self.sentence_collection, ["embeddings", "metadatas"])
        with parsing(manifest.generation):
            chunks = [
                from_record(chunk_id, text or "", meta or {})
                for chunk_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            ]
            self.sentence_vectors = group_sentences(sentences["embeddings"], sentences["metadatas"], "chunk_id")
        order = sorted(range(len(chunks)), key=lambda i: chunks[i].chunk.id)  # stable tie-breaks
        self.chunks = [chunks[i] for i in order]
        embeddings = got["embeddings"] if order else np.zeros((0, embedder.dimension))
        self.vectors: Vectors = np.asarray(embeddings, dtype=np.float32)[order]
        self.sentence_count = len(sentences["ids"])
        self.sentence_texts = {  # each chunk's sentences as answers quote them, for chunks with their vectors
            s.chunk.id: tuple(plain(s.chunk.text[start:end]) for start, end in s.spans)
            for s in self.chunks
            if len(self.sentence_vectors.get(s.chunk.id, ())) == len(s.spans) > 0
        }
        self.position = {stored.chunk.id: i for i, stored in enumerate(self.chunks)}
        self.sentence_matrix: Vectors | None = None  # every sentence vector in chunk order, when few enough
        self.sentence_owner = np.zeros(0, dtype=np.int64)  # the chunk position of each matrix row
        if self.sentence_count <= EXACT_SENTENCES:
            owned = [(self.position[c], v) for c, v in self.sentence_vectors.items() if c in self.position]
            owned.sort(key=lambda pair: pair[0])
            rows = [vectors for _, vectors in owned]
            self.sentence_matrix = np.vstack(rows) if rows else np.zeros((0, embedder.dimension), dtype=np.float32)
            self.sentence_owner = np.repeat([p for p, _ in owned], [len(v) for v in rows]).astype(np.int64)
            start = 0
            for position, vectors in owned:  # each chunk's vectors become a view of the matrix: one copy in memory
                chunk_id = self.chunks[position].chunk.id
                self.sentence_vectors[chunk_id] = self.sentence_matrix[start : start + len(vectors)]
                start += len(vectors)
        self.mode_masks = {
            mode: np.array([mode in s.chunk.modes for s in self.chunks], dtype=np.float32) for mode in Mode
        }
        tokenized = [terms(s.header + s.chunk.text) or ["<empty>"] for s in self.chunks]
        self.document_frequency = Counter(term for tokens in tokenized for term in set(tokens))
        self.names = set().union(*(written_names(f"{s.header}\n{s.chunk.text}") for s in self.chunks))
        self.headings = frozenset(term for s in self.chunks for term in terms(s.header))
        self.bm25 = bm25s.BM25()
        self.bm25.index(tokenized, show_progress=False)


class Retriever:
    def __init__(self, settings: Settings, embedder: Embedder, store: IndexStore) -> None:
        self._settings = settings
        self.embedder = embedder
        self._store = store
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._snapshot = self._load(store.require_current())

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder) -> Retriever:
        return cls(settings, embedder, IndexStore.open(settings))

    def _load(self, manifest: Manifest) -> _Snapshot:
        if manifest.format != FORMAT_VERSION:
            raise IndexMismatchError(f"The index was written in an older format ({manifest.format}).")
        if manifest.model != self.embedder.model_id:
            raise IndexMismatchError(
                f"The index was built with embedding model {manifest.model!r}, "
                f"but {self.embedder.model_id!r} is configured."
            )
        return _Snapshot(self._store, manifest, self.embedder)

    # state ------------------------------------------------------------------------------------------------
    def status(self) -> IndexStatus:
        manifest = self._snapshot.manifest
        try:
            stale = corpus_fingerprint(self._settings.corpus_dir) != manifest.corpus_fingerprint
        except AssistantError:
            stale = False  # no local corpus (e.g. a shared Chroma server): nothing to compare with
        return IndexStatus(manifest.generation, manifest.model, manifest.chunk_count, manifest.built_at, stale)

    @property
    def generation(self) -> str:
        """The index generation searches currently read."""
        return self._snapshot.manifest.generation

    def refresh_due(self) -> bool:
        """Whether the next `refresh` will look for a new generation (REFRESH_INTERVAL has passed)."""
        return time.monotonic() - self._checked >= REFRESH_INTERVAL

    def refresh(self, *, min_interval: float | None = None) -> bool:
        """Load the serving generation if another process switched it; at most once per `min_interval` s
        (default REFRESH_INTERVAL)."""
        now = time.monotonic()
        if now - self._checked < (REFRESH_INTERVAL if min_interval is None else min_interval):
            return False
        with self._lock:
            self._checked = now
            if self._store.replaced():  # a build set the store aside and made a new one in its place
                self._store = IndexStore.open(self._settings)
            manifest = self._store.require_current()
            if manifest.generation == self._snapshot.manifest.generation:
                return False
            self._snapshot = self._load(manifest)
            return True

    def nearest(self, vector: Vectors, k: int) -> list[str]:
        """Dense search alone (ids of the `k` nearest chunks): with one query embedding, the retrieval floor."""
        snapshot = self._snapshot
        return [snapshot.chunks[p].chunk.id for p in self._nearest(snapshot, vector, k, None)]

    def stored(self) -> tuple[list[StoredChunk], Vectors]:
        """Every chunk of the serving generation and its vector (benchmarks build large corpora from them)."""
        return list(self._snapshot.chunks), self._snapshot.vectors

    def chunk(self, chunk_id: str) -> Chunk | None:
        snapshot = self._snapshot
        position = snapshot.position.get(chunk_id)
        return snapshot.chunks[position].chunk if position is not None else None

    def section_chunks(self, doc_id: str, section: str) -> list[Chunk]:
        """The chunks of `doc_id`'s `section` (heading path), in id order."""
        return [s.chunk for s in self._snapshot.chunks if s.chunk.doc_id == doc_id and s.chunk.section == section]

    def section_sentences(self, chunk: Chunk) -> list[tuple[Chunk, str]]:
        """Every sentence of the section `chunk` belongs to: a long section is split over several chunks."""
        return self._sentences_of(chunk.doc_id, chunk.section)

    def sentence_in(self, doc_id: str, section: str, pattern: re.Pattern[str]) -> tuple[Chunk, str] | None:
        """The first sentence (as answers quote it) of `doc_id`'s `section` that `pattern` finds, and its chunk."""
        return next(
            ((chunk, text) for chunk, text in self._sentences_of(doc_id, section) if pattern.search(text)), None
        )

    def _sentences_of(self, doc_id: str, section: str) -> list[tuple[Chunk, str]]:
        """The sentences (as answers quote them) of `doc_id`'s `section`, each with its own chunk."""
        sentences = self._snapshot.sentence_texts
        return [(chunk, text) for chunk in self.section_chunks(doc_id, section) for text in sentences.get(chunk.id, ())]

    # search -----------------------------------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> Vectors:
        """Vectors for `texts` in one model call."""
        return self.embedder.encode(texts)

    def embed_many(self, texts: Sequence[str]) -> Vectors:
        """Vectors for many `texts`, in batches (one call for hundreds of texts would hold a large activation)."""
        return self.embedder.encode_batched(texts)

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[Vectors, list[Vectors]]:
        """The one model call a question costs: each text's vector and a vector per span (clause) of it."""
        return self.embedder.encode_with_sentences(texts, spans)

    def known_names(self, text: str) -> set[str]:
        """The names in `text` (capitalised words, versions) that the corpus also writes: "Buoyant", "Hubble"."""
        return names(text) & self._snapshot.names

    def names_in(self, text: str) -> set[str]:
        """The words of `text`, however written, that the corpus writes as names: "kuma" for its "Kuma"."""
        return set(terms(text)) & self._snapshot.names

    def topics(self, text: str) -> set[str]:
        """The words of `text` that some section of the corpus is about (its headings use them): "multicluster"."""
        return set(terms(text)) & self._snapshot.headings

    def term_weights(self, text: str) -> dict[str, float]:
        """Each content word of `text` the corpus uses, with its inverse document frequency; names and versions
        the corpus never mentions (another product, a release it does not cover) with a negative weight, also
        when the corpus only has a rare common word of that spelling ("Windows" the product, "window" the
        word); other words the corpus never uses ("heavy", "anyone") are left out, as they say nothing about
        coverage."""
        snapshot = self._snapshot
        total = len(snapshot.chunks) or 1
        named = names(text)
        weights = {}
        for term in dict.fromkeys(terms(text)):
            frequency = snapshot.document_frequency.get(term, 0)
            if term in named and term not in snapshot.names and frequency <= RARE_WORD * total:
                weights[term] = -math.log(1 + total)
            elif frequency:
                weights[term] = math.log(1 + total / frequency)
        return weights

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        modes: Sequence[Mode] = (),
        vector: Vectors | None = None,
    ) -> list[Passage]:
        """The top `k` passages for `query` (embedded here unless `vector` is given), optionally by mode."""
        return self.search_each(query, [modes], k=k, vector=vector)[0]

    def search_each(
        self, query: str, filters: Sequence[Sequence[Mode]], *, k: int = 5, vector: Vectors | None = None
    ) -> list[list[Passage]]:
        """`search` once per mode filter, sharing the query's embedding, dense rankings and BM25 scores: a
        comparison of four modes costs one Chroma query, not four (plus a filtered one for a mode that too few
        of the nearest chunks carry)."""
        if not self._snapshot.chunks or k <= 0:
            return [[] for _ in filters]
        query_vector = self.embed([query])[0] if vector is None else vector
        try:
            return self._search_each(self._snapshot, query, query_vector, filters, k)
        except IndexCorruptError:
            if not self.refresh(min_interval=0):  # not a generation a finished build has just dropped
                raise
            return self._search_each(self._snapshot, query, query_vector, filters, k)

    def _search_each(
        self, snapshot: _Snapshot, query: str, query_vector: Vectors, filters: Sequence[Sequence[Mode]], k: int
    ) -> list[list[Passage]]:
        fetch = max(MIN_FETCH, 4 * k)
        nearest = self._nearest(snapshot, query_vector, fetch, None)
        by_sentence = self._by_sentence(snapshot, query_vector, fetch)
        tokens = terms(query)
        lexical = snapshot.bm25.get_scores(tokens) if tokens else None
        results = []
        for modes in filters:
            mask = self._mask(snapshot, modes)
            rankings = (
                self._dense(snapshot, query_vector, nearest, fetch, k, modes, mask),
                [p for p in by_sentence if mask is None or mask[p]][:fetch],
                self._lexical(lexical, fetch, mask),
            )
            results.append(self._fused(snapshot, rankings, k, query_vector))
        return results

    def _fused(
        self, snapshot: _Snapshot, rankings: Sequence[list[int]], k: int, query_vector: Vectors
    ) -> list[Passage]:
        """The best `k` chunks by reciprocal rank fusion of `rankings` (positions), ties by position."""
        fused: dict[int, float] = {}
        for ranking in rankings:
            for rank, position in enumerate(ranking):
                fused[position] = fused.get(position, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused, key=lambda p: (-fused[p], p))[:k]
        similarities = snapshot.vectors[best] @ query_vector if best else np.zeros(0)
        return [
            Passage(
                chunk=snapshot.chunks[position].chunk,
                score=fused[position],
                similarity=float(similarities[rank]),
                rank=rank + 1,
                sentences=self._sentences(snapshot, snapshot.chunks[position].chunk.id, query_vector),
            )
            for rank, position in enumerate(best)
        ]

    @staticmethod
    def _mask(snapshot: _Snapshot, modes: Sequence[Mode]) -> np.ndarray[Any, np.dtype[np.float32]] | None:
        if not modes:
            return None
        mask = np.zeros(len(snapshot.chunks), dtype=np.float32)
        for mode in modes:
            mask = np.maximum(mask, snapshot.mode_masks[mode])
        return mask

    @staticmethod
    def _dense(
        snapshot: _Snapshot,
        vector: Vectors,
        nearest: list[int],
        fetch: int,
        k: int,
        modes: Sequence[Mode],
        mask: np.ndarray[Any, np.dtype[np.float32]] | None,
    ) -> list[int]:
        """The `nearest` chunks that carry the modes, or, when too few do, Chroma's answer to a filtered query."""
        if mask is None:
            return nearest
        allowed = [p for p in nearest if mask[p]]
        if len(allowed) >= min(k, int(mask.sum())):
            return allowed
        where: dict[str, Any] = (
            {"modes": {"$contains": modes[0].value}}
            if len(modes) == 1
            else {"$or": [{"modes": {"$contains": m.value}} for m in modes]}
        )
        return Retriever._nearest(snapshot, vector, fetch, where)

    @staticmethod
    def _by_sentence(snapshot: _Snapshot, vector: Vectors, fetch: int) -> list[int]:
        """Chunks ranked by their single best sentence, among the best `4 * fetch` sentences: a chunk holding one
        precise answer among other sentences ranks high here even when its mean vector does not."""
        count = min(4 * fetch, snapshot.sentence_count)
        if not count:
            return []
        if snapshot.sentence_matrix is not None:
            scores = snapshot.sentence_matrix @ vector
            count = min(count, len(scores))
            if not count:
                return []
            top = np.argpartition(-scores, count - 1)[:count]
            top = top[np.lexsort((top, -scores[top]))]  # best first, ties by position: deterministic
            owners: list[int] = snapshot.sentence_owner[top].tolist()
        else:
            query: Any = [vector]
            hits = guarded(
                f"Index generation {snapshot.manifest.generation}",
                lambda: snapshot.sentence_collection.query(query_embeddings=query, n_results=count, include=[]),
            )
            chunk_ids = (chunk_of_sentence(sentence_id) for sentence_id in hits["ids"][0])  # ids, not metadata
            owners = [snapshot.position[chunk_id] for chunk_id in chunk_ids if chunk_id in snapshot.position]
        return list(dict.fromkeys(owners))

    @staticmethod
    def _nearest(snapshot: _Snapshot, vector: Vectors, fetch: int, where: dict[str, Any] | None) -> list[int]:
        count = min(fetch, len(snapshot.chunks))
        query: Any = [vector]
        collection = snapshot.collection
        hits = guarded(
            f"Index generation {snapshot.manifest.generation}",
            lambda: collection.query(query_embeddings=query, n_results=count, where=where, include=["distances"]),
        )
        return [snapshot.position[chunk_id] for chunk_id in hits["ids"][0] if chunk_id in snapshot.position]

    @staticmethod
    def _lexical(
        scores: np.ndarray[Any, np.dtype[np.float32]] | None,
        fetch: int,
        mask: np.ndarray[Any, np.dtype[np.float32]] | None,
    ) -> list[int]:
        """The best `fetch` chunks by BM25 `scores` (None: the query has no terms), among those `mask` allows."""
        if scores is None:
            return []
        if mask is not None:
            scores = scores * mask
        count = min(fetch, int(np.count_nonzero(scores)))
        if count == 0:
            return []
        top = np.argpartition(-scores, count - 1)[:count]
        return sorted((int(p) for p in top), key=lambda p: (-float(scores[p]), p))

    @staticmethod
    def _sentences(snapshot: _Snapshot, chunk_id: str, vector: Vectors) -> tuple[ScoredSentence, ...]:
        texts = snapshot.sentence_texts.get(chunk_id)
        if texts is None:
            return ()
        vectors = snapshot.sentence_vectors[chunk_id]
        scores: list[float] = (vectors @ vector).tolist()
        return tuple(
            ScoredSentence(text=text, score=score, vector=row)
            for text, score, row in zip(texts, scores, vectors, strict=True)
        )
