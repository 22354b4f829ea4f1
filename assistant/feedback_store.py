"""Where feedback on answers is kept, through SQLAlchemy Core: SQLite (WAL) under the data directory by default,
PostgreSQL (`ASSISTANT_DATABASE_URL`) when several replicas share it. The table is the one
earlier versions created in `feedback.sqlite3`, so an existing file is used as it is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from assistant.config import Settings
from assistant.errors import UnavailableError
from assistant.feedback import FeedbackRecord, FeedbackSummary, Rating

SQLITE_FILE = "feedback.sqlite3"

metadata = MetaData()
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", Text, nullable=False),
    Column("rating", Text, CheckConstraint("rating IN ('up', 'down')"), nullable=False),
    Column("comment", Text, nullable=False, server_default=""),
    Column("source", Text, nullable=False, server_default=""),
    Column("created_at", Text, nullable=False),
    Index("feedback_answer", "answer_id"),
    sqlite_autoincrement=True,
)


class FeedbackStore:
    """Each record is committed before `record` returns: a process killed afterwards loses nothing."""

    def __init__(self, url: URL) -> None:
        self.url = url
        try:
            if url.get_backend_name() == "sqlite" and url.database:
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            self._engine = _engine(url)
            metadata.create_all(self._engine)  # creates what is missing, keeps what exists
        except (OSError, SQLAlchemyError) as exc:
            raise UnavailableError(f"Cannot open the feedback database {_safe(url)}: {exc}") from exc

    def record(self, answer_id: str, rating: Rating, comment: str = "", source: str = "") -> FeedbackRecord:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        values = {"answer_id": answer_id, "rating": rating, "comment": comment, "source": source}
        try:
            with self._engine.begin() as connection:
                row_id = connection.execute(
                    insert(feedback).values(**values, created_at=created).returning(feedback.c.id)
                ).scalar_one()
        except SQLAlchemyError as exc:
            raise UnavailableError(f"Cannot record feedback in {_safe(self.url)}: {exc}") from exc
        return FeedbackRecord(int(row_id), answer_id, rating, comment, source, created)

    def summary(self, *, recent: int = 10) -> FeedbackSummary:
        try:
            with self._engine.connect() as connection:
                grouped = connection.execute(select(feedback.c.rating, func.count()).group_by(feedback.c.rating))
                counts = {str(rating): int(count) for rating, count in grouped}
                rows = connection.execute(select(feedback).order_by(feedback.c.id.desc()).limit(recent)).mappings()
                records = [FeedbackRecord(**dict(row)) for row in rows]
        except SQLAlchemyError as exc:
            raise UnavailableError(f"Cannot read feedback from {_safe(self.url)}: {exc}") from exc
        up, down = int(counts.get("up", 0)), int(counts.get("down", 0))
        return FeedbackSummary(total=up + down, up=up, down=down, recent=records)


def make_feedback_store(settings: Settings) -> FeedbackStore:
    return FeedbackStore(database_url(settings))


def database_url(settings: Settings) -> URL:
    """ASSISTANT_DATABASE_URL (PostgreSQL through psycopg 3 whichever driver it names), else the SQLite file."""
    if settings.database_url is None or not settings.database_url.get_secret_value():
        return URL.create("sqlite", database=str(settings.data_dir / SQLITE_FILE))
    url = make_url(settings.database_url.get_secret_value())
    return url.set(drivername="postgresql+psycopg") if url.get_backend_name() == "postgresql" else url


def _engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)  # a connection the server dropped is replaced, not failed
    engine = create_engine(url, connect_args={"timeout": 10})

    @event.listens_for(engine, "connect")
    def _wal(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA journal_mode=WAL")

    return engine


def _safe(url: URL) -> str:
    return url.render_as_string(hide_password=True)
