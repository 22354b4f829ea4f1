"""Feedback on answers (thumbs up or down): what is recorded. Where it is kept is `feedback_store`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Rating = Literal["up", "down"]


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
