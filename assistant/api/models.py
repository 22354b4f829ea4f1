"""Request and response models of the HTTP API (domain models are reused where they are the answer)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from assistant.config import MAX_HISTORY_TURNS, MAX_QUESTION_CHARS
from assistant.domain.conversation import MAX_TURN_CHARS, Turn
from assistant.domain.documents import Passage
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


class SearchRequest(BaseModel):
    """What GET /v1/search takes as query parameters, as one model (the MCP `search` tool's input)."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=TEXT, description="What to look for.")
    k: int = Field(5, ge=1, le=50, description="How many passages.")
    mode: list[Mode] = Field(default_factory=list, description="Only passages about these modes.")


class FeaturesRequest(BaseModel):
    """What GET /v1/features takes as query parameters, as one model (the MCP `features` tool's input)."""

    model_config = ConfigDict(extra="forbid")

    feature: str | None = Field(None, max_length=100, description="Only this feature's row (by id).")
    mode: Mode | None = Field(None, description="Only this mode's column.")


class RatingsRequest(BaseModel):
    """GET /v1/ratings takes nothing (the MCP `ratings` tool's input)."""

    model_config = ConfigDict(extra="forbid")


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

    @classmethod
    def of(cls, passage: Passage) -> PassagePublic:
        chunk = passage.chunk
        return cls(
            chunk_id=chunk.id, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section, modes=list(chunk.modes),
            score=round(passage.score, 6), similarity=round(passage.similarity, 4), text=chunk.text,
            source_url=chunk.source_url, as_of=chunk.as_of,
        )  # fmt: skip


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


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: StrictBool = Field(
        False, description="`true`: one more chunk before [DONE], with `usage` and no choices (OpenAI's option)."
    )


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
    stream_options: StreamOptions | None = Field(None, description="With `stream: true` only.")


class ModelPublic(BaseModel):
    """An entry of GET /v1/models, as OpenAI lists models."""

    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="Unix time of the corpus date the model answers from.")
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelPublic]


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


class OpenAIErrorDetail(ErrorDetail):
    """OpenAI's error object (`message`, `type`, `param`, `code`) with this API's `hint` and `request_id`."""

    type: str
    param: str | None = None


class OpenAIErrorResponse(BaseModel):
    error: OpenAIErrorDetail


class Readiness(BaseModel):
    status: Literal["ready"]
    generation: str
    chunks: int
    model: str
    built_at: str
    stale: bool
