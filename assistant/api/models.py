"""Request and response models of the HTTP API (domain models are reused where they are the answer)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from assistant.config import MAX_HISTORY_TURNS, MAX_QUESTION_CHARS
from assistant.domain.conversation import MAX_TURN_CHARS, Turn
from assistant.domain.requirements import Requirements
from assistant.domain.vocabulary import Mode

TEXT = r"[^\s\x1c-\x1f]"  # a character that is not white space (for Python, Rust and JSON Schema alike)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS, pattern=TEXT,
        description="The question, in the user's words: some text, at most 4,000 characters.",
    )  # fmt: skip
    history: list[Turn] = Field(
        default_factory=list, max_length=MAX_HISTORY_TURNS, description="Earlier turns, oldest first (at most 50)."
    )


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


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")  # image_url, ... are accepted and ignored

    type: str = "text"
    text: str = Field("", max_length=MAX_TURN_CHARS)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[ContentPart] | None = Field(None, max_length=MAX_TURN_CHARS)

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(part.text for part in self.content)
        return self.content or ""


TEXT_SCHEMA = {"type": "string", "pattern": TEXT}
# What `messages` must contain to be answered: a user message with text (as a string or as a text part).
USER_TEXT: dict[str, Any] = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"const": "user"},
        "content": {
            "anyOf": [
                TEXT_SCHEMA,
                {
                    "type": "array",
                    "contains": {
                        "type": "object",
                        "required": ["text"],
                        "properties": {"text": {"type": "string", "pattern": TEXT}},
                    },
                },
            ]
        },
    },
}


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, ... are accepted and ignored

    model: str = "mesh-assistant"
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="The conversation: the last user message with text is the question, the user and assistant "
        "messages before it its history (system messages are ignored).",
        json_schema_extra={"contains": USER_TEXT},
    )
    stream: StrictBool = Field(False, description="`true`: Server-Sent Events; only `true` or `false`.")


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
