"""Request and response models of the HTTP API (domain models are reused where they are the answer)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.domain.conversation import Turn
from assistant.domain.requirements import Requirements
from assistant.domain.vocabulary import Mode


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question, in the user's words (at most 4,000 characters).")
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first (at most 50).")


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requirements: Requirements = Field(default_factory=Requirements)


class PassagePublic(BaseModel):
    chunk_id: str
    doc_id: str
    title: str
    section: str
    modes: list[Mode]
    score: float
    similarity: float
    text: str
    source_url: str
    as_of: str


class ModePublic(BaseModel):
    id: Mode
    label: str
    summary: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(part.get("text", "")) for part in self.content if isinstance(part, dict))
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, ... are accepted and ignored

    model: str = "mesh-assistant"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,80}$", description="`id` of the answer being rated.")
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=2000)


class FeedbackPublic(BaseModel):
    id: int
    answer_id: str
    rating: Literal["up", "down"]
    comment: str
    source: str
    created_at: str


class FeedbackSummaryPublic(BaseModel):
    total: int
    up: int
    down: int
    recent: list[FeedbackPublic]


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str = ""
    request_id: str = ""
    fields: list[dict[str, str]] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Readiness(BaseModel):
    status: Literal["ready"]
    generation: str
    chunks: int
    model: str
    built_at: str
    stale: bool
