"""Server-Sent Events framing for the streaming endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi.responses import StreamingResponse

from assistant.api.observability import Metrics
from assistant.domain.answers import Answer
from assistant.responder import Delta, Final, StreamEvent


def event(name: str | None, data: Any) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {payload}\n\n"


def answer_events(events: Iterator[StreamEvent], metrics: Metrics) -> StreamingResponse:
    """`delta` events with text pieces, then one `answer` event with the whole Answer."""

    def frames() -> Iterator[str]:
        for item in events:
            if isinstance(item, Delta):
                yield event("delta", {"text": item.text})
            elif isinstance(item, Final):
                count(metrics, item.answer)
                yield event("answer", item.answer.model_dump(mode="json"))

    return StreamingResponse(frames(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def started(events: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
    """Run the stream up to its first event now, so bad input fails with a status code, not mid-stream."""
    first = next(events)

    def replay() -> Iterator[StreamEvent]:
        yield first
        yield from events

    return replay()


def count(metrics: Metrics, answer: Answer) -> None:
    metrics.answers.labels(answer.intent.value).inc()
    if answer.refused:
        metrics.refusals.inc()
    if "cache" in answer.timings:
        metrics.cached.inc()
