"""POST /v1/chat/completions: OpenAI-compatible, so existing OpenAI clients and bot frameworks work unchanged.

The last user message is the question and earlier user/assistant messages are the history; system messages
are ignored (they cannot change how the assistant answers). Besides the standard fields the response carries
`citations` (the same objects as in /v1/ask) and `mesh_answer_id` for feedback; in a stream they arrive on
the final chunk.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from assistant.api import sse
from assistant.api.deps import ClientDep, MetricsDep, ServiceDep
from assistant.api.models import ChatCompletionRequest
from assistant.api.routes.answers import ERRORS, STREAM_CONTENT
from assistant.domain.answers import Answer
from assistant.domain.conversation import MAX_TURN_CHARS, Turn
from assistant.errors import TooLargeError, UserError
from assistant.responder import pieces

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
MODEL = "mesh-assistant"


def _conversation(body: ChatCompletionRequest) -> tuple[str, list[Turn]]:
    """The last user message with text, and the user and assistant messages with text before it."""
    turns = [(m.role, m.text()) for m in body.messages if m.role in ("user", "assistant") and m.text().strip()]
    last = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=None)
    if last is None:
        raise UserError("The messages hold no user message with text.", hint="Add {role: user, content: ...}.")
    if any(len(text) > MAX_TURN_CHARS for _, text in turns[: last + 1]):
        raise TooLargeError(f"A message is longer than {MAX_TURN_CHARS} characters.")
    history = [Turn(role="user" if role == "user" else "assistant", content=text) for role, text in turns[:last]]
    return turns[last][1], history


def _completion(answer: Answer, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{answer.id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": [c.model_dump(mode="json") for c in answer.citations],
        "mesh_answer_id": answer.id,
    }


@router.post(
    "/chat/completions",
    responses={
        **ERRORS,
        200: {
            "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": STREAM_CONTENT},
            "description": "A chat.completion object, or with `stream: true` chat.completion.chunk events and [DONE]",
        },
    },
)
def chat_completions(body: ChatCompletionRequest, service: ServiceDep, metrics: MetricsDep, _client: ClientDep) -> Any:
    """OpenAI chat completions (`stream: true` supported); `citations` and `mesh_answer_id` are extra fields."""
    question, history = _conversation(body)
    model = body.model or MODEL
    if not body.stream:
        answer = service.ask(question, history)
        sse.count(metrics, answer)
        return _completion(answer, model)
    answer = service.ask(question, history)  # deterministic and fast: computed first, then streamed in pieces
    sse.count(metrics, answer)
    completion_id = f"chatcmpl-{answer.id}"
    created = int(time.time())

    def chunks() -> Iterator[str]:
        for index, piece in enumerate(pieces(answer.text)):
            delta = {"role": "assistant", "content": piece} if index == 0 else {"content": piece}
            yield sse.event(None, _chunk(completion_id, created, model, delta, None))
        final = _chunk(completion_id, created, model, {}, "stop")
        final["citations"] = [c.model_dump(mode="json") for c in answer.citations]
        final["mesh_answer_id"] = answer.id
        yield sse.event(None, final)
        yield sse.event(None, "[DONE]")

    return StreamingResponse(chunks(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _chunk(completion_id: str, created: int, model: str, delta: dict[str, str], finish: str | None) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
