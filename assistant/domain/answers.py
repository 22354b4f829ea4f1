"""What the assistant returns for a question: text with [n] markers, the citations they resolve to, and why."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.domain.conversation import Intent, Kind
from assistant.domain.recommendation import Profile, Recommendation
from assistant.domain.requirements import Requirements
from assistant.domain.sizing import Estimate
from assistant.domain.vocabulary import Dimension, Mode


class Citation(BaseModel):
    model_config = ConfigDict(frozen=True)

    n: int = Field(ge=1, description="The number used as [n] in the answer text.")
    chunk_id: str
    doc_id: str
    title: str
    section: str
    source_url: str
    snippet: str = Field(description="The passage text the cited sentences come from.")
    modes: list[Mode]


class RetrievedPassage(BaseModel):
    model_config = ConfigDict(frozen=True)

    chunk_id: str
    doc_id: str
    modes: list[Mode]
    score: float


class Confidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: float = Field(ge=0, le=1)
    label: Literal["high", "medium", "low"]


class Answer(BaseModel):
    id: str = Field(description="Identifies this answer for feedback.")
    question: str
    text: str = Field(description="Markdown; claims carry [n] markers that resolve to `citations`.")
    intent: Intent
    kind: Kind = Field(description="The kind of answer given; `intent` is its four-valued summary.")
    citations: list[Citation]
    recommendation: Recommendation | None = None
    estimate: Estimate | None = Field(
        None, description="Each mode's data-plane cost for the stated cluster, when the answer shows it."
    )
    profiles: list[Profile] = Field(
        default_factory=list,
        description="The asked modes' strong and weak points (ratings, caveats, capabilities), when asked for.",
    )
    requirements: Requirements = Field(description="Requirements as understood from the whole conversation.")
    modes: list[Mode] = Field(default_factory=list, description="The modes the question is about.")
    dimensions: list[Dimension] = Field(default_factory=list)
    resolved_question: str = ""
    refused: bool = Field(False, description="True when the assistant declined or did not know.")
    confidence: Confidence
    notes: list[str] = Field(default_factory=list, description="E.g. why the optional LLM was not used.")
    retrieved: list[RetrievedPassage] = Field(default_factory=list, description="Passages retrieved, best first.")
    grounds: list[str] = Field(
        default_factory=list,
        description=(
            "Rating, capability and feature-matrix facts, and newer corpus facts that supersede a quoted one (ids), "
            "that the answer may cite besides those passages."
        ),
    )
    timings: dict[str, float] = Field(default_factory=dict, description="Milliseconds per step.")
