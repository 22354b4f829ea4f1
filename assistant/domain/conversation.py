"""A conversation: turns in, and what a question was understood to ask."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.domain.requirements import Requirements
from assistant.domain.vocabulary import Dimension, Mode


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class Intent(StrEnum):
    RECOMMEND = "recommend"
    COMPARE = "compare"
    EXPLAIN = "explain"
    OUT_OF_SCOPE = "out_of_scope"
    HELP = "help"


class Aspect(StrEnum):
    """What a question about one mode asks for besides a topic: its weak points or its strong points."""

    WEAKNESSES = "weaknesses"
    STRENGTHS = "strengths"


@dataclass(frozen=True)
class Understanding:
    """What the question asks, after the conversation so far is taken into account."""

    intent: Intent
    modes: tuple[Mode, ...]  # the modes the question is about (after resolving "it", "that option", ...)
    dimensions: tuple[Dimension, ...]  # the rated dimensions it asks about
    requirements: Requirements  # accumulated over the user's turns
    stated_now: Requirements  # what the current turn itself states
    resolved_question: str  # the question with follow-up references made explicit (used for retrieval)
    focus: Mode | None = None  # "why not ambient?", "should we use sidecars?": the mode the user asks about
    aspects: tuple[Aspect, ...] = ()  # "what are the downsides of ambient?": its weak points
    changes: bool = False  # "what changed in 2025?": the dated events of that period
    followup: bool = False
    injection: bool = False  # the turn tries to override instructions; nothing from it is used
    signals: tuple[str, ...] = field(default=())  # which cues decided (for debugging and tests)
