"""POST /v1/estimate (a cluster's data-plane cost per mode), GET /v1/answers/{id}/decision-record and
POST /v1/decision-record (a recommendation as an architecture decision record in Markdown)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import PlainTextResponse

from assistant.api.deps import ClientDep, ServiceDep
from assistant.api.models import RecommendRequest
from assistant.api.routes.answers import ERRORS
from assistant.domain.sizing import ClusterSize, Estimate

router = APIRouter(prefix="/v1", tags=["decisions"])
MARKDOWN = {"text/markdown": {"schema": {"type": "string"}, "example": "---\nstatus: proposed\n...\n# Use Sidecar ..."}}


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"


@router.post("/estimate", response_model=Estimate, responses=ERRORS)
def estimate(body: ClusterSize, service: ServiceDep, _client: ClientDep) -> Estimate:
    """Each mode's data-plane CPU and memory for your cluster, every figure cited with its release, load and
    set-up, the scaling assumptions written out; a part nobody publishes a figure for is shown as such."""
    return service.estimate(**body.model_dump())


@router.post(
    "/decision-record",
    response_class=MarkdownResponse,
    responses={**ERRORS, 200: {"content": MARKDOWN, "description": "The decision record (MADR, Markdown)"}},
)
def decision_record(body: RecommendRequest, service: ServiceDep, _client: ClientDep) -> MarkdownResponse:
    """The recommendation for these requirements as an architecture decision record (MADR sections), every
    [n] resolving to a source URL; the same requirements always give the same document."""
    return MarkdownResponse(service.decision_record(body.requirements))


@router.get(
    "/answers/{answer_id}/decision-record",
    response_class=MarkdownResponse,
    responses={
        **ERRORS,
        200: {"content": MARKDOWN, "description": "The decision record (MADR, Markdown)"},
        404: {"description": "No recent answer with a recommendation under that id on this server"},
    },
)
def answer_decision_record(
    answer_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$", description="`id` of an answer.")],
    service: ServiceDep,
    _client: ClientDep,
) -> MarkdownResponse:
    """The decision record of a recent answer that carried a recommendation (by its `id`)."""
    found = service.answer_decision_record(answer_id)
    if found is None:
        raise HTTPException(
            404,
            f"No recent answer {answer_id} with a recommendation on this server; "
            "POST its requirements to /v1/decision-record instead.",
        )
    return MarkdownResponse(found)
