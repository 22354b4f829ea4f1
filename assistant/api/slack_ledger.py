"""What the Slack face has to remember across requests, restarts and replicas: the deliveries it has answered (so
each event id, or each signed request without one, is answered once, however often Slack or anyone else sends it)
and the answers it has posted (so feedback buttons only count for those).

Kept in Redis when `ASSISTANT_REDIS_URL` is set, so that every replica sees what any one answered (SET NX with an
expiry: exactly one replica records a key first); otherwise in SQLite under the data directory, for one process.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from assistant.config import Settings

if TYPE_CHECKING:
    import redis

KEEP_SECONDS = 24 * 3600  # Slack retries for an hour at most; signed requests expire after 5 minutes
ANSWER_SECONDS = 90 * 24 * 3600  # how long an answer's feedback buttons count
REDIS_PREFIX = "mesh-assistant:slack:"
SQLITE_FILE = "slack.sqlite3"

Kind = Literal["delivery", "answer"]
KEEP: dict[Kind, int] = {"delivery": KEEP_SECONDS, "answer": ANSWER_SECONDS}


class Memory(Protocol):
    def add(self, kind: Kind, key: str) -> bool:
        """Remember `key` for its kind's time; True when it was not remembered already."""

    def has(self, kind: Kind, key: str) -> bool: ...


class SlackLedger:
    def __init__(self, settings: Settings) -> None:
        redis_url = settings.shared_redis
        self.memory: Memory = RedisMemory(redis_url) if redis_url else SqliteMemory(settings.data_dir / SQLITE_FILE)

    def first_delivery(self, key: str) -> bool:
        """True the first time `key` is seen (it is recorded), False for every later delivery of it."""
        return self.memory.add("delivery", key)

    def posted(self, answer_id: str) -> None:
        self.memory.add("answer", answer_id)

    def was_posted(self, answer_id: str) -> bool:
        return self.memory.has("answer", answer_id)


class RedisMemory:
    def __init__(self, url: str) -> None:
        import redis  # only where a Redis is configured (7 MB a single process does without)

        self._redis: redis.Redis = redis.Redis.from_url(url)

    def add(self, kind: Kind, key: str) -> bool:
        return bool(self._redis.set(f"{REDIS_PREFIX}{kind}:{key}", b"1", nx=True, ex=KEEP[kind]))

    def has(self, kind: Kind, key: str) -> bool:
        return bool(self._redis.exists(f"{REDIS_PREFIX}{kind}:{key}"))


TABLES: dict[Kind, tuple[str, str]] = {"delivery": ("deliveries", "key"), "answer": ("answers", "id")}


class SqliteMemory:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, at REAL NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (id TEXT PRIMARY KEY, at REAL NOT NULL)")
        self._lock = threading.Lock()

    def add(self, kind: Kind, key: str) -> bool:
        table, _ = TABLES[kind]
        now = time.time()
        with self._lock:
            self._db.execute(f"DELETE FROM {table} WHERE at < ?", (now - KEEP[kind],))
            return self._db.execute(f"INSERT OR IGNORE INTO {table} VALUES (?, ?)", (key, now)).rowcount == 1

    def has(self, kind: Kind, key: str) -> bool:
        table, column = TABLES[kind]
        with self._lock:
            return self._db.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (key,)).fetchone() is not None
