"""GET /v1/search, /v1/modes, /v1/ratings, /v1/features, /v1/sources."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from assistant.api.deps import ClientDep, ServiceDep
from assistant.api.models import TEXT, ModePublic, PassagePublic
from assistant.api.routes.answers import ERRORS
from assistant.config import MAX_QUESTION_CHARS
from assistant.domain.vocabulary import Mode

router = APIRouter(prefix="/v1", tags=["knowledge"])


@router.get("/search", response_model=list[PassagePublic], responses=ERRORS)
def search(
    service: ServiceDep,
    _client: ClientDep,
    q: Annotated[
        str, Query(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=TEXT, description="What to look for.")
    ],
    k: Annotated[int, Query(ge=1, le=50, description="How many passages.")] = 5,
    mode: Annotated[list[Mode] | None, Query(description="Only passages about these modes.")] = None,
) -> list[PassagePublic]:
    """Hybrid (dense + BM25) search over the corpus and ingested documents."""
    return [PassagePublic.of(p) for p in service.search(q, k=k, modes=mode or [])]


@router.get("/modes", response_model=list[ModePublic], responses=ERRORS)
def modes(service: ServiceDep, _client: ClientDep) -> list[ModePublic]:
    """The four data-plane modes."""
    return [ModePublic.model_validate(m) for m in service.modes()]


@router.get("/ratings", responses=ERRORS)
def ratings(service: ServiceDep, _client: ClientDep) -> dict[str, Any]:
    """The ratings matrix (score, rationale, source per mode and dimension) and the capability facts."""
    return service.ratings_table()


@router.get("/features", responses=ERRORS)
def features(
    service: ServiceDep,
    _client: ClientDep,
    feature: Annotated[str | None, Query(max_length=100, description="Only this feature's row (by id).")] = None,
    mode: Annotated[Mode | None, Query(description="Only this mode's column.")] = None,
) -> dict[str, Any]:
    """The feature and status matrix: per feature and mode a status, the release and date it holds since, a
    note, the source URL and the date the source was read."""
    return service.features_table(feature=feature, mode=mode)


@router.get("/sources", responses=ERRORS)
def sources(
    service: ServiceDep,
    _client: ClientDep,
    older_than: Annotated[
        int | None, Query(ge=0, le=36_500, description="Only what was read more than this many days ago.")
    ] = None,
) -> dict[str, Any]:
    """The corpus documents (by as_of) and feature-matrix cells (by read date), oldest first: what to re-read."""
    return service.sources(older_than_days=older_than)
