"""Where the index lives: Chroma (embedded under the data directory, or a `chroma run` server).

Each build writes a new *generation*: a fresh collection `<prefix>-g<timestamp>` holding every chunk with its
embedding and metadata (the build manifest is its collection metadata), and `<prefix>-g<timestamp>-s` holding
the chunks' sentence vectors. Only when it is
complete does the pointer (metadata of the `<prefix>-index` collection) switch to it, in one write. A build
that dies half way leaves the pointer, and so the serving index, untouched; the next build drops its debris.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from assistant.config import Settings
from assistant.errors import ConfigError, IndexCorruptError, IndexNotBuiltError, UnavailableError

FORMAT_VERSION = 3  # bump when records change shape or vectors change meaning: older ones are rebuilt, not read
SENTENCES_SUFFIX = "-s"


@dataclass(frozen=True)
class Manifest:
    """What a generation was built from; stored as its collection metadata."""

    generation: str
    model: str
    corpus_fingerprint: str
    built_at: str
    chunk_count: int
    user_paths: tuple[str, ...] = field(default=())
    format: int = FORMAT_VERSION

    def as_metadata(self) -> dict[str, str | int]:
        return {
            "hnsw:space": "cosine",
            "format": self.format,
            "model": self.model,
            "corpus_fingerprint": self.corpus_fingerprint,
            "built_at": self.built_at,
            "chunk_count": self.chunk_count,
            "user_paths": json.dumps(list(self.user_paths)),
        }

    @classmethod
    def from_metadata(cls, generation: str, metadata: dict[str, Any] | None) -> Manifest:
        meta = metadata or {}
        try:
            return cls(
                generation=generation,
                model=str(meta["model"]),
                corpus_fingerprint=str(meta["corpus_fingerprint"]),
                built_at=str(meta["built_at"]),
                chunk_count=int(meta["chunk_count"]),
                user_paths=tuple(json.loads(str(meta.get("user_paths", "[]")))),
                format=int(meta.get("format", 0)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise IndexCorruptError(f"Index generation {generation} has an unreadable manifest ({exc}).") from exc


class IndexStore:
    def __init__(self, client: ClientAPI, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._pointer_name = f"{prefix}-index"

    @classmethod
    def open(cls, settings: Settings, *, create: bool = False, recover: bool = False) -> IndexStore:
        """Open the store. `create`: make it if missing. `recover`: move an unreadable store aside."""
        if settings.chroma_url:
            return cls(_http_client(settings.chroma_url), settings.collection_prefix)
        path = chroma_path(settings)
        if not path.exists() and not create:
            raise IndexNotBuiltError(f"No index at {path}.")
        try:
            client = _persistent_client(path)
        except Exception as exc:  # Chroma raises assorted errors for a damaged store
            if not recover:
                raise IndexCorruptError(f"The index at {path} cannot be read: {exc}") from exc
            aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
            shutil.move(str(path), str(aside))
            client = _persistent_client(path)
        return cls(client, settings.collection_prefix)

    # generations -----------------------------------------------------------------------------------------
    def current(self) -> Manifest | None:
        """The manifest of the serving generation, or None if no build has completed."""
        try:
            pointer = self.client.get_collection(self._pointer_name)
        except Exception:
            return None
        generation = str((pointer.metadata or {}).get("current", ""))
        if not generation:
            return None
        try:
            collection = self.client.get_collection(generation)
        except Exception as exc:
            raise IndexCorruptError(f"The index points at generation {generation}, which is missing.") from exc
        return Manifest.from_metadata(generation, collection.metadata)

    def require_current(self) -> Manifest:
        manifest = self.current()
        if manifest is None:
            raise IndexNotBuiltError()
        return manifest

    def new_generation(self, manifest: Manifest) -> tuple[Collection, Collection]:
        """The (chunks, sentences) collections of a new generation."""
        chunks = self.client.create_collection(manifest.generation, metadata=manifest.as_metadata())
        sentences = self.client.create_collection(
            sentences_name(manifest.generation), metadata={"hnsw:space": "cosine"}
        )
        return chunks, sentences

    def collection(self, generation: str) -> Collection:
        return self.client.get_collection(generation)

    def sentences(self, generation: str) -> Collection:
        return self.client.get_collection(sentences_name(generation))

    def switch(self, generation: str) -> None:
        pointer = self.client.get_or_create_collection(self._pointer_name)
        pointer.modify(metadata={"current": generation, "switched_at": _now()})

    def drop_generations(self, *, keep: set[str]) -> list[str]:
        """Delete this prefix's generations except `keep` (the serving one and the one before it)."""
        dropped = []
        for collection in self.client.list_collections():
            name = collection.name
            if name.startswith(f"{self.prefix}-g") and name.removesuffix(SENTENCES_SUFFIX) not in keep:
                self.client.delete_collection(name)
                dropped.append(name)
        return dropped

    def generation_name(self) -> str:
        return f"{self.prefix}-g{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"

    @property
    def max_batch(self) -> int:
        return int(self.client.get_max_batch_size())


def sentences_name(generation: str) -> str:
    return generation + SENTENCES_SUFFIX


def chroma_path(settings: Settings) -> Path:
    return settings.data_dir / "chroma"


@contextmanager
def build_lock(settings: Settings) -> Iterator[None]:
    """One index build at a time per data directory."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with (settings.data_dir / "index.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UnavailableError(
                "Another index build is running on this data directory.", hint="Wait for it to finish."
            ) from exc
        yield


def _persistent_client(path: Path) -> ClientAPI:
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))


def _http_client(url: str) -> ClientAPI:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"ASSISTANT_CHROMA_URL={url!r} is not an http(s)://host:port URL.")
    try:
        return chromadb.HttpClient(
            host=parsed.hostname,
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except Exception as exc:
        raise UnavailableError(
            f"Cannot reach the Chroma server at {url}: {exc}",
            hint="Start it with `chroma run --path DIR --host 127.0.0.1 --port 8001`, or unset ASSISTANT_CHROMA_URL.",
        ) from exc


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


READ_PAGE = 5000  # rows per get(): reading a large collection in one call exceeds SQLite's variable limit


def read_all(collection: Collection, include: list[str]) -> dict[str, list[Any]]:
    """Every row of `collection`, page by page: "ids" and the fields in `include`, as lists in one order."""
    got: dict[str, list[Any]] = {name: [] for name in ["ids", *include]}
    while True:
        page: Any = collection.get(include=include, limit=READ_PAGE, offset=len(got["ids"]))  # type: ignore[arg-type]
        for name, rows in got.items():
            rows.extend(page[name] if page[name] is not None else [])
        if len(page["ids"]) < READ_PAGE:
            return got
