"""POST /v1/chat/completions, GET /v1/models and /v1/models/{id}: OpenAI-compatible, so existing OpenAI clients
and bot frameworks (and tools that list models first) work unchanged.

The last user message is the question and earlier user/assistant messages are the history; system messages
are ignored (they cannot change how the assistant answers). Besides the standard fields the response carries
`citations` (the same objects as in /v1/ask) and `mesh_answer_id` for feedback; in a stream they arrive on
the final chunk. `usage` counts tokens with the embedding model's tokenizer: every message's text as the prompt,
the answer's text as the completion. Errors on these routes have OpenAI's shape (openai_errors.py).
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, StreamingResponse

from assistant.api import sse
from assistant.api.deps import ClientDep, MetricsDep, ServiceDep
from assistant.api.errors import error_response
from assistant.api.models import ChatCompletionRequest, ModelList, ModelPublic, OpenAIErrorResponse
from assistant.api.routes.answers import ERRORS, STREAM_CONTENT
from assistant.domain.answers import Answer
from assistant.domain.conversation import MAX_TURN_CHARS, Turn
from assistant.errors import TooLargeError, UserError
from assistant.responder import pieces
from assistant.service import Service

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
MODEL = "mesh-assistant"
OWNER = "mesh-assistant"
MODEL_ID = r"^[A-Za-z0-9._:-]{1,100}$"  # what model ids look like (a provider prefix is `provider:`)
OPENAI_ERRORS: dict[int | str, dict[str, object]] = {
    status: {**response, "model": OpenAIErrorResponse} for status, response in ERRORS.items()
}


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


def _usage(service: Service, body: ChatCompletionRequest, answer: Answer) -> dict[str, int]:
    prompt = sum(service.count_tokens(message.text()) for message in body.messages)
    completion = service.count_tokens(answer.text)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(answer: Answer, model: str, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{answer.id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}],
        "usage": usage,
        "citations": [c.model_dump(mode="json") for c in answer.citations],
        "mesh_answer_id": answer.id,
    }


@router.post(
    "/chat/completions",
    responses={
        **OPENAI_ERRORS,
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
    answer = service.ask(question, history)  # deterministic and fast: computed first, then streamed in pieces
    sse.count(metrics, answer)
    usage = _usage(service, body, answer)
    if not body.stream:
        return _completion(answer, model, usage)
    completion_id = f"chatcmpl-{answer.id}"
    created = int(time.time())
    include_usage = body.stream_options is not None and body.stream_options.include_usage

    def chunk(delta: dict[str, str], finish: str | None) -> dict[str, Any]:
        fields = _chunk(completion_id, created, model, delta, finish)
        return fields | {"usage": None} if include_usage else fields

    def chunks() -> Iterator[str]:
        for index, piece in enumerate(pieces(answer.text)):
            delta = {"role": "assistant", "content": piece} if index == 0 else {"content": piece}
            yield sse.event(None, chunk(delta, None))
        final = chunk({}, "stop")
        final["citations"] = [c.model_dump(mode="json") for c in answer.citations]
        final["mesh_answer_id"] = answer.id
        yield sse.event(None, final)
        if include_usage:  # as OpenAI sends it: a last chunk with no choices
            yield sse.event(None, {**_chunk(completion_id, created, model, {}, None), "choices": [], "usage": usage})
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


@router.get("/models", response_model=ModelList, responses=OPENAI_ERRORS)
def models(service: ServiceDep, _client: ClientDep) -> ModelList:
    """The one model this server answers as (OpenAI's list shape), for clients that list models first."""
    return ModelList(data=[_model(service)])


@router.get(
    "/models/{model_id}",
    response_model=ModelPublic,
    responses={**OPENAI_ERRORS, 404: {"model": OpenAIErrorResponse, "description": "No model of that id"}},
)
def model(
    model_id: Annotated[str, PathParam(pattern=MODEL_ID, description="A model id, as GET /v1/models lists them.")],
    service: ServiceDep,
    _client: ClientDep,
) -> ModelPublic | JSONResponse:
    """One model by id: `mesh-assistant`, or a 404."""
    if model_id != MODEL:
        return error_response(404, "model_not_found", f"The model {model_id!r} does not exist.", f"Use {MODEL!r}.")
    return _model(service)


def _model(service: Service) -> ModelPublic:
    as_of = service.corpus_version().as_of  # the model is the corpus: it answers as of its date
    return ModelPublic(id=MODEL, created=calendar.timegm(as_of.timetuple()), owned_by=OWNER)
