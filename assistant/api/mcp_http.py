"""/mcp on the API: the MCP face (mcp.py) over streamable HTTP, served as /v1/mcp behind the gate.

The MCP SDK is loaded by the first MCP request, not at start: it is about 23 MB that a server nobody asks over MCP
would hold for its whole life. The session manager then runs in a task group of the app's lifespan, as the SDK
requires, until shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup, TaskStatus
from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.config import Settings
from assistant.service import Service

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

PATH = "/mcp"
GATED_PATH = "/v1/mcp"  # where the gate sees it


def mount_mcp(app: FastAPI, settings: Settings, service: Service) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Serve MCP at /mcp (as /v1/mcp, behind the gate); the returned context manager belongs in the app's lifespan."""
    endpoint = LazyMcp(settings, service)
    app.router.routes.append(Route(GATED_PATH, endpoint=endpoint, include_in_schema=False))
    return endpoint.running


class LazyMcp:
    """The ASGI endpoint of /v1/mcp: the first request builds the SDK's session manager and starts it."""

    def __init__(self, settings: Settings, service: Service) -> None:
        self.settings = settings
        self.service = service
        self._handler: ASGIApp | None = None
        self._tasks: TaskGroup | None = None
        self._starting = anyio.Lock()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The lifespan's part: the task group a started session manager runs in, cancelled at shutdown."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                yield
            finally:
                self._tasks = None
                tasks.cancel_scope.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self._handler or await self._start()
        await handler(scope, receive, send)

    async def _start(self) -> ASGIApp:
        async with self._starting:
            if self._handler is None:
                if self._tasks is None:
                    raise RuntimeError("MCP over HTTP needs the app's lifespan running")
                from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

                from assistant.api.mcp import make_session_manager

                manager = make_session_manager(self.settings, self.service)
                await self._tasks.start(_run, manager)
                self._handler = StreamableHTTPASGIApp(manager)
            return self._handler


async def _run(manager: StreamableHTTPSessionManager, *, task_status: TaskStatus[None]) -> None:
    async with manager.run():
        task_status.started()
        await anyio.sleep_forever()


class McpPath:
    """ASGI middleware, outside the gate: /mcp is served as /v1/mcp, so the gate admits it like any /v1 route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            scope = {**scope, "path": GATED_PATH, "raw_path": GATED_PATH.encode()}
        await self.app(scope, receive, send)
