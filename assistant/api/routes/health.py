"""GET /healthz (alive), /readyz (index open and model loaded), /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assistant.api.deps import MetricsDep, ServiceDep
from assistant.api.models import ErrorResponse, Readiness
from assistant.errors import AssistantError

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": ErrorResponse, "description": "Not ready"}})
def readyz(service: ServiceDep) -> Readiness | JSONResponse:
    """Ready when the model is loaded and the index is open (it is retried here, so a new index is picked up)."""
    from assistant.api.errors import error_response

    try:
        service.warm_up()
        status = service.index_status()
    except AssistantError as exc:
        return error_response(503, exc.code, exc.message, exc.hint)
    return Readiness(
        status="ready",
        generation=status.generation,
        chunks=status.chunks,
        model=status.model,
        built_at=status.built_at,
        stale=status.stale,
    )


@router.get("/metrics", response_class=Response)
def metrics(registry: MetricsDep) -> Response:
    """Prometheus metrics: requests and latency per route, answers by intent, refusals, feedback."""
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
