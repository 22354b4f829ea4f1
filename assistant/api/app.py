"""The FastAPI application: `create_app()`; its lifespan loads the model and opens the index once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from assistant import __version__
from assistant.api import errors
from assistant.api.contract import state_contract
from assistant.api.deps import known_query_only
from assistant.api.examples import add_examples
from assistant.api.gate import Gate
from assistant.api.mcp_http import McpPath, mount_mcp
from assistant.api.middleware import RequestContext
from assistant.api.observability import Metrics, configure_logging
from assistant.api.openai_errors import OpenAIErrors
from assistant.api.routes import answers, chat_completions, decisions, feedback, health, knowledge
from assistant.api.slack_events import mount_slack
from assistant.config import Settings, get_settings
from assistant.errors import AssistantError
from assistant.service import Service

log = logging.getLogger("assistant.api")

DESCRIPTION = """Cited, deterministic advice on choosing a service-mesh data-plane model (sidecar, ambient, cilium,
grpc). Authenticate with `Authorization: Bearer <key>` when the server has `ASSISTANT_API_KEYS`. Every error has
the body `{"error": {"code", "message", "hint"}}`."""


# How uvicorn runs the app (`assistant serve`, and the tests' servers): its own log lines are replaced by ours, and
# it never rewrites the client's address from X-Forwarded-For (by default it trusts any peer on loopback); the Gate
# honours that header from ASSISTANT_TRUSTED_PROXIES only.
SERVER_OPTIONS: dict[str, Any] = {"log_config": None, "access_log": False, "proxy_headers": False}


def create_app(settings: Settings | None = None, *, service: Service | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(app.state.service.warm_up)
        except AssistantError as exc:  # serve anyway: /readyz says what is missing and picks it up later
            log.warning("not ready: %s", exc.message, extra={"fields": {"hint": exc.hint}})
        async with app.state.mcp():
            yield

    # Swagger UI's assets come with the package (no CDN); no trailing-slash redirect, which would echo the Host.
    app = FastAPIOffline(
        title="Mesh Assistant API", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        redirect_slashes=False, dependencies=[Depends(known_query_only)],
    )  # fmt: skip
    app.state.settings = settings
    app.state.service = service or Service(settings)
    app.state.metrics = Metrics()
    errors.install(app)
    app.add_middleware(Gate, settings=settings)  # inside RequestContext: its refusals carry the request id too
    app.add_middleware(McpPath)  # /mcp reaches the gate as /v1/mcp
    app.add_middleware(RequestContext, max_body=settings.max_body_bytes, metrics=app.state.metrics)
    app.add_middleware(OpenAIErrors)  # outermost: the OpenAI-compatible routes' refusals in OpenAI's shape too
    routers = (
        answers.router,
        decisions.router,
        knowledge.router,
        chat_completions.router,
        feedback.router,
        health.router,
    )
    for router in routers:
        app.include_router(router)
    mount_slack(app)
    app.state.mcp = mount_mcp(app, settings, app.state.service)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = state_contract(add_examples(schema), settings, app.state.service.feature_ids())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
