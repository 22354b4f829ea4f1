"""POST /v1/feedback and GET /v1/feedback/summary."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from assistant.api.deps import ClientDep, MetricsDep, ServiceDep
from assistant.api.models import FeedbackPublic, FeedbackRequest, FeedbackSummaryPublic
from assistant.api.routes.answers import ERRORS

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


@router.post("", response_model=FeedbackPublic, status_code=201, responses=ERRORS)
def record(body: FeedbackRequest, service: ServiceDep, metrics: MetricsDep, client: ClientDep) -> FeedbackPublic:
    """Thumbs up or down on an answer, with an optional comment."""
    stored = service.record_feedback(body.answer_id, body.rating, body.comment, source=client)
    metrics.feedback.labels(body.rating).inc()
    return FeedbackPublic(**asdict(stored))


@router.get("/summary", response_model=FeedbackSummaryPublic, responses=ERRORS)
def summary(service: ServiceDep, _client: ClientDep) -> FeedbackSummaryPublic:
    """Counts of up and down votes and the latest feedback."""
    found = service.feedback_summary()
    return FeedbackSummaryPublic(
        total=found.total, up=found.up, down=found.down, recent=[FeedbackPublic(**asdict(r)) for r in found.recent]
    )
