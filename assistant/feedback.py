"""Feedback on answers (thumbs up or down), stored in SQLite (WAL) under the data directory."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from assistant.errors import UnavailableError

Rating = Literal["up", "down"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback (answer_id);
"""


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    answer_id: str
    rating: Rating
    comment: str
    source: str
    created_at: str


@dataclass(frozen=True)
class FeedbackSummary:
    total: int
    up: int
    down: int
    recent: list[FeedbackRecord]


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise UnavailableError(f"Cannot open the feedback database {path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10)
        connection.row_factory = sqlite3.Row
        return connection

    def record(self, answer_id: str, rating: Rating, comment: str = "", source: str = "") -> FeedbackRecord:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock, self._connect() as connection:
            cursor = connection.execute(
                "INSERT INTO feedback (answer_id, rating, comment, source, created_at) VALUES (?, ?, ?, ?, ?)",
                (answer_id, rating, comment, source, created),
            )
            row_id = int(cursor.lastrowid or 0)
        return FeedbackRecord(row_id, answer_id, rating, comment, source, created)

    def summary(self, *, recent: int = 10) -> FeedbackSummary:
        with self._lock, self._connect() as connection:
            counts = dict(connection.execute("SELECT rating, COUNT(*) FROM feedback GROUP BY rating").fetchall())
            rows = connection.execute("SELECT * FROM feedback ORDER BY id DESC LIMIT ?", (recent,)).fetchall()
        records = [FeedbackRecord(**dict(row)) for row in rows]
        up, down = int(counts.get("up", 0)), int(counts.get("down", 0))
        return FeedbackSummary(total=up + down, up=up, down=down, recent=records)
