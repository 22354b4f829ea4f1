"""Dependencies: the service, the calling client (API key auth) and its rate limit.

They are `async def` because none of them blocks: FastAPI runs a plain `def` dependency in its thread pool, and
three thread hops per request cost a cached answer more than the answer itself.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from assistant.api.observability import Metrics
from assistant.config import Settings
from assistant.service import Service


class RateLimiter:
    """A token bucket per client: `per_minute` requests a minute, bursting up to the same number."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may proceed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, updated = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - updated) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def get_settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def require_client(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The caller's identity: its API key (checked) when keys are configured, else its address; rate limited."""
    settings = get_settings_of(request)
    if settings.api_keys:
        scheme, _, token = (authorization or "").partition(" ")
        valid = scheme.lower() == "bearer" and any(hmac.compare_digest(token, key) for key in settings.api_keys)
        if not valid:
            raise HTTPException(
                401, "A valid API key is required: send `Authorization: Bearer <key>`.",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        client = "key:" + hashlib.sha256(token.encode()).hexdigest()[:12]
    else:
        client = "addr:" + (request.client.host if request.client else "unknown")
    wait = request.app.state.limiter.take(client)
    if wait:
        raise HTTPException(
            429, f"Rate limit of {settings.rate_limit_per_minute} requests a minute exceeded.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )  # fmt: skip
    return client


ServiceDep = Annotated[Service, Depends(get_service)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ClientDep = Annotated[str, Depends(require_client)]
