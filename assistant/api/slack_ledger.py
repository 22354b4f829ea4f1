"""What the Slack face has to remember across requests and restarts, in SQLite under the data directory: the
deliveries it has answered (so each event id, or each signed request without one, is answered once, however often
Slack or anyone else sends it) and the answers it has posted (so feedback buttons only count for those)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

KEEP_SECONDS = 24 * 3600  # Slack retries for an hour at most; signed requests expire after 5 minutes
ANSWER_SECONDS = 90 * 24 * 3600  # how long an answer's feedback buttons count


class SlackLedger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, at REAL NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (id TEXT PRIMARY KEY, at REAL NOT NULL)")
        self._lock = threading.Lock()

    def first_delivery(self, key: str) -> bool:
        """True the first time `key` is seen (it is recorded), False for every later delivery of it."""
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM deliveries WHERE at < ?", (now - KEEP_SECONDS,))
            return self._db.execute("INSERT OR IGNORE INTO deliveries VALUES (?, ?)", (key, now)).rowcount == 1

    def posted(self, answer_id: str) -> None:
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM answers WHERE at < ?", (now - ANSWER_SECONDS,))
            self._db.execute("INSERT OR IGNORE INTO answers VALUES (?, ?)", (answer_id, now))

    def was_posted(self, answer_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is not None
