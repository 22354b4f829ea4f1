"""The feedback database: SQLite by default, an existing file from earlier versions kept as it is."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.config import Settings
from assistant.errors import UnavailableError
from assistant.feedback_store import SQLITE_FILE, FeedbackStore, database_url, make_feedback_store

# What earlier versions created in feedback.sqlite3, verbatim.
OLD_SCHEMA = """
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


def test_an_existing_sqlite_file_keeps_its_feedback(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / SQLITE_FILE) as old:
        old.executescript(OLD_SCHEMA)
        old.execute("INSERT INTO feedback VALUES (7, 'a1', 'down', 'slow', 'key:1', '2026-01-02T03:04:05+00:00')")
    old.close()
    store = make_feedback_store(Settings(_env_file=None, data_dir=tmp_path))
    added = store.record("a2", "up", "good", source="slack")
    assert added.id == 8  # after the old rows, never reusing an id
    summary = store.summary()
    assert (summary.total, summary.up, summary.down) == (2, 1, 1)
    assert [(r.id, r.answer_id, r.comment, r.created_at) for r in summary.recent] == [
        (8, "a2", "good", added.created_at),
        (7, "a1", "slow", "2026-01-02T03:04:05+00:00"),
    ]
    with sqlite3.connect(tmp_path / SQLITE_FILE) as again:
        assert again.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    again.close()


def test_a_new_sqlite_file_is_created_under_the_data_directory(tmp_path: Path) -> None:
    store = make_feedback_store(Settings(_env_file=None, data_dir=tmp_path / "new"))
    store.record("a1", "up")
    assert (tmp_path / "new" / SQLITE_FILE).is_file() and store.summary().total == 1


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db:5432/mesh", "postgresql+psycopg://u:***@db:5432/mesh"),
        ("postgresql+psycopg2://u@db/mesh", "postgresql+psycopg://u@db/mesh"),
        ("sqlite:////srv/feedback.db", "sqlite:////srv/feedback.db"),
    ],
)
def test_the_database_url_uses_psycopg_3_for_postgresql(given: str, used: str) -> None:
    url = database_url(Settings(_env_file=None, database_url=SecretStr(given)))
    assert url.render_as_string(hide_password=True) == used


def test_an_unreachable_database_is_unavailable_with_the_password_hidden() -> None:
    url = database_url(Settings(_env_file=None, database_url=SecretStr("postgresql://u:secret@127.0.0.1:1/x")))
    with pytest.raises(UnavailableError) as raised:
        FeedbackStore(url)
    assert "secret" not in raised.value.message and "127.0.0.1:1" in raised.value.message
