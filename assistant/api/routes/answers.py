"""POST /v1/ask (JSON, or Server-Sent Events with `Accept: text/event-stream`), /v1/ask/stream, /v1/recommend."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from assistant.api import sse
from assistant.api.deps import ClientDep, MetricsDep, ServiceDep
from assistant.api.models import AskRequest, ErrorResponse, RecommendRequest
from assistant.api.observability import Metrics
from assistant.domain.answers import Answer
from assistant.domain.recommendation import Recommendation
from assistant.service import Service

router = APIRouter(prefix="/v1", tags=["answers"])
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in [(401, "Missing or wrong API key"), (413, "Question, history or body too large"),
                       (422, "Invalid input"), (429, "Rate limited"), (503, "Index or model not available")]
}  # fmt: skip
STREAM_CONTENT = {  # each Server-Sent Event: an optional name and its data (a JSON document, or [DONE])
    "schema": {
        "type": "object",
        "required": ["data"],
        "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
    },
    "example": 'event: delta\ndata: {"text": "..."}\n\n',
}
STREAM = {"text/event-stream": STREAM_CONTENT}


@router.post(
    "/ask",
    response_model=Answer,
    responses={**ERRORS, 200: {"content": STREAM, "description": "The Answer, or SSE events when asked for"}},
)
async def ask(
    body: AskRequest,
    service: ServiceDep,
    metrics: MetricsDep,
    _client: ClientDep,
    accept: Annotated[str | None, Header()] = None,
) -> Answer | StreamingResponse:
    """A cited answer. With `Accept: text/event-stream`: `delta` events of text, then one `answer` event."""
    if accept and "text/event-stream" in accept:
        return await run_in_threadpool(_stream, body, service, metrics)
    # A repeated question is served here on the event loop; only a new one costs a trip to a worker thread.
    answer = service.answer_if_cached(body.question, body.history)
    if answer is None:
        answer = await run_in_threadpool(service.ask, body.question, body.history)
    sse.count(metrics, answer)
    return answer


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={**ERRORS, 200: {"content": STREAM, "description": "`delta` events, then one `answer` event"}},
)
def ask_stream(body: AskRequest, service: ServiceDep, metrics: MetricsDep, _client: ClientDep) -> StreamingResponse:
    """The answer as Server-Sent Events: `delta` events carrying text, then one `answer` event."""
    return _stream(body, service, metrics)


def _stream(body: AskRequest, service: Service, metrics: Metrics) -> StreamingResponse:
    return sse.answer_events(sse.started(service.stream(body.question, body.history)), metrics)


@router.post("/recommend", response_model=Recommendation, responses=ERRORS)
def recommend(body: RecommendRequest, service: ServiceDep, _client: ClientDep) -> Recommendation:
    """The rule layer alone: every mode ranked or excluded, with reasons, assumptions and counterfactuals."""
    return service.recommend(body.requirements)
