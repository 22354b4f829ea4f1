"""Where the index lives: Chroma (embedded under the data directory, or a `chroma run` server).

Each build writes a new *generation*: a fresh collection `<prefix>-g<timestamp>` holding every chunk with its
embedding and metadata (the build manifest is its collection metadata), and `<prefix>-g<timestamp>-s` holding
the chunks' sentence vectors. Only when it is
complete does the pointer (metadata of the `<prefix>-index` collection) switch to it, in one write. A build
that dies half way leaves the pointer, and so the serving index, untouched; the next build drops its debris:
every other generation, and the vector directories Chroma leaves on disk when a collection is deleted.

This module is the boundary to Chroma: whatever Chroma raises for a damaged store becomes an IndexCorruptError.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from assistant.config import Settings
from assistant.errors import ConfigError, IndexCorruptError, IndexNotBuiltError, UnavailableError

log = logging.getLogger("assistant.indexing")

FORMAT_VERSION = 3  # bump when records change shape or vectors change meaning: older ones are rebuilt, not read
SENTENCES_SUFFIX = "-s"
CATALOGUE = "chroma.sqlite3"  # Chroma's database of collections, segments and records
DAMAGED_MARK = ".damaged-"  # a store set aside is renamed to chroma.damaged-<UTC time>
_SEGMENT_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
T = TypeVar("T")


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
    def __init__(self, client: ClientAPI, prefix: str, path: Path | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.path = path  # the embedded store's directory; None for a Chroma server
        self._identity = _identity(path) if path is not None else ()
        self._pointer_name = f"{prefix}-index"

    @classmethod
    def open(cls, settings: Settings, *, create: bool = False) -> IndexStore:
        """Open the store (`create`: make it if missing); IndexCorruptError when it cannot be read."""
        if settings.chroma_url:
            return cls(_http_client(settings.chroma_url), settings.collection_prefix)
        path = chroma_path(settings)
        if not path.exists() and not create:
            raise IndexNotBuiltError(f"No index at {path}.")
        try:
            client = _persistent_client(path)
        except Exception as exc:  # Chroma raises assorted errors for a damaged store
            raise IndexCorruptError(f"The index at {path} cannot be read: {exc}") from exc
        return cls(client, settings.collection_prefix, path)

    def replaced(self) -> bool:
        """Whether the embedded store's directory was replaced since it was opened (a build set it aside)."""
        return self.path is not None and _identity(self.path) != self._identity

    # generations -----------------------------------------------------------------------------------------
    def current(self) -> Manifest | None:
        """The manifest of the serving generation, or None if no build has completed."""
        try:
            pointer = self.client.get_collection(self._pointer_name)
        except NotFoundError:
            return None
        except Exception as exc:
            raise IndexCorruptError(f"The index pointer cannot be read: {exc}") from exc
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
        return guarded(f"Index generation {generation}", lambda: self.client.get_collection(generation))

    def sentences(self, generation: str) -> Collection:
        name = sentences_name(generation)
        return guarded(f"Index generation {generation}", lambda: self.client.get_collection(name))

    def switch(self, generation: str) -> None:
        pointer = self.client.get_or_create_collection(self._pointer_name)
        pointer.modify(metadata={"current": generation, "switched_at": _now()})

    def drop_generations(self, *, keep: str) -> list[str]:
        """Delete this prefix's generations except `keep` (the serving one), then the vector directories no
        collection owns any more (Chroma leaves them on disk when it deletes a collection)."""
        dropped = [name for name in self.own_collections() if name.removesuffix(SENTENCES_SUFFIX) != keep]
        for name in dropped:
            self.client.delete_collection(name)
        if self.path is not None:
            _remove_orphaned_directories(self.path)
        return dropped

    def own_collections(self, *, pointer: bool = False) -> list[str]:
        """This prefix's generation collections (and with `pointer`, the pointer too)."""
        names = [c.name for c in self.client.list_collections()]
        return [n for n in names if n.startswith(f"{self.prefix}-g") or (pointer and n == self._pointer_name)]

    def generation_name(self) -> str:
        return f"{self.prefix}-g{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"

    @property
    def max_batch(self) -> int:
        return int(self.client.get_max_batch_size())


def set_aside(settings: Settings, reason: str) -> IndexStore:
    """Put a damaged store out of the way and return an empty one. The embedded store's directory is renamed to
    chroma.damaged-<time> (the newest damaged copy is kept for inspection, older ones are deleted); on a Chroma
    server this prefix's collections are deleted."""
    if settings.chroma_url:
        store = IndexStore.open(settings)
        for name in store.own_collections(pointer=True):
            store.client.delete_collection(name)
        log.warning("index set aside: %s; its collections were deleted; building afresh from the corpus", reason)
        return store
    path = chroma_path(settings)
    for older in path.parent.glob(f"{path.name}{DAMAGED_MARK}*"):
        shutil.rmtree(older, ignore_errors=True)
    aside = path.with_name(f"{path.name}{DAMAGED_MARK}{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}")
    path.rename(aside)
    log.warning("index set aside: %s; moved to %s; building afresh from the corpus", reason, aside)
    return IndexStore.open(settings, create=True)


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


Identity = tuple[tuple[int, int] | None, ...]
_opened: dict[str, Identity] = {}  # each embedded store's directory and catalogue, as they were when Chroma opened them


def _persistent_client(path: Path) -> ClientAPI:
    """A client of the store at `path`. Chroma keeps one system per path for the whole process, also one that
    failed to start or whose directory a build has since replaced: such a system is forgotten, not reused."""
    path.mkdir(parents=True, exist_ok=True)
    key = str(path)
    if _opened.get(key) != _identity(path):
        _forget_system(key)
    try:
        client = chromadb.PersistentClient(path=key, settings=ChromaSettings(anonymized_telemetry=False))
    except Exception:
        _forget_system(key)
        raise
    _opened[key] = _identity(path)
    return client


def _forget_system(key: str) -> None:
    """Drop Chroma's cached system for `key` (its clients keep working on what they opened)."""
    SharedSystemClient._identifier_to_system.pop(key, None)
    SharedSystemClient._identifier_to_refcount.pop(key, None)


def _identity(path: Path) -> Identity:
    """The directory's and its catalogue's inodes: both change when a build replaces the store."""
    return tuple(_inode(p) for p in (path, path / CATALOGUE))


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _remove_orphaned_directories(path: Path) -> None:
    """Delete the vector directories under `path` that no segment in Chroma's catalogue owns."""
    try:
        with sqlite3.connect(f"file:{path / CATALOGUE}?mode=ro", uri=True) as catalogue:
            owned = {str(row[0]) for row in catalogue.execute("SELECT id FROM segments")}
    except sqlite3.Error as exc:  # no cleanup rather than a guess
        log.warning("vector directories not cleaned up: %s", exc)
        return
    for child in path.iterdir():
        if child.is_dir() and _SEGMENT_DIR.match(child.name) and child.name not in owned:
            shutil.rmtree(child, ignore_errors=True)


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


def guarded(what: str, call: Callable[[], T]) -> T:
    """`call()`, with whatever Chroma raises for a damaged or vanished store as an IndexCorruptError about `what`."""
    try:
        return call()
    except IndexCorruptError:
        raise
    except Exception as exc:  # Chroma raises assorted errors (InternalError, NotFoundError, ...) for damage
        raise IndexCorruptError(f"{what} cannot be read: {exc}") from exc


@contextmanager
def parsing(generation: str) -> Iterator[None]:
    """Records of `generation` that do not parse (a key missing, a value of the wrong type) are damage too."""
    try:
        yield
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexCorruptError(f"Index generation {generation} has unreadable records ({exc!r}).") from exc


def read_all(collection: Collection, include: list[str]) -> dict[str, list[Any]]:
    """Every row of `collection`, page by page: "ids" and the fields in `include`, as lists in one order. With
    embeddings, the collection is also searched with its first vector: damaged vector files can read and still
    fail a search, and should fail here, not on a user's first question."""
    what = f"Index collection {collection.name}"
    got: dict[str, list[Any]] = {name: [] for name in ["ids", *include]}
    while True:
        page: Any = guarded(
            what,
            partial(collection.get, include=include, limit=READ_PAGE, offset=len(got["ids"])),  # type: ignore[arg-type]
        )
        for name, rows in got.items():
            rows.extend(page[name] if page[name] is not None else [])
        if len(page["ids"]) < READ_PAGE:
            break
    if "embeddings" in include and got["ids"]:
        query: Any = [got["embeddings"][0]]
        guarded(what, partial(collection.query, query_embeddings=query, n_results=1, include=[]))
    return got
