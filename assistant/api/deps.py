"""Dependencies: the service, the metrics, and the calling client (admitted by the gate).

They are `async def` because none of them blocks: FastAPI runs a plain `def` dependency in its thread pool, and
three thread hops per request cost a cached answer more than the answer itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer

from assistant.api.observability import Metrics
from assistant.config import Settings
from assistant.service import Service

BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="One of ASSISTANT_API_KEYS, when the server has any: `Authorization: Bearer <key>`.",
)


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def get_settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def require_client(request: Request, _key: Annotated[object, Depends(BEARER)]) -> str:
    """The caller's identity, as the gate admitted it (see gate.py: the key is checked before the body is read).
    The bearer dependency only documents the scheme in the OpenAPI schema."""
    client: str = request.state.client
    return client


async def known_query_only(request: Request) -> None:
    """A query parameter the route does not take is refused (422), not silently ignored: a typo in `k` or `mode`
    would otherwise change nothing and say nothing."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = set(_query_names(route.dependant))
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        problem = "not a parameter here"
        raise RequestValidationError(
            [{"type": "extra_forbidden", "loc": ("query", n), "msg": problem} for n in unknown]
        )


def _query_names(dependant: Dependant) -> Iterator[str]:
    yield from (param.alias for param in dependant.query_params)
    for sub in dependant.dependencies:
        yield from _query_names(sub)


ServiceDep = Annotated[Service, Depends(get_service)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ClientDep = Annotated[str, Depends(require_client)]
