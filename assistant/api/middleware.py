"""ASGI middleware: request ids, the request-size limit, the request log and per-route metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import error_response, unexpected
from assistant.api.observability import Metrics, request_id

log = logging.getLogger("assistant.api")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContext:
    """Request id on every response and log line; body limit (413); one structured log line and metrics per request."""

    def __init__(self, app: ASGIApp, *, max_body: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body = max_body
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        sent_start = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent_start
            if message["type"] == "http.response.start":
                status = message["status"]
                sent_start = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLargeError
            return message

        try:
            declared = int(headers.get("content-length", "0") or 0)
        except ValueError:
            declared = 0
        try:
            if declared > self.max_body:
                raise _BodyTooLargeError
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLargeError:  # read at any point, by any route: chunked bodies have no length to check first
            if not sent_start:
                await _too_large(self.max_body)(scope, receive, send_with_id)
        except Exception:  # logged once, here, with the request id; the response carries the id too
            log.exception("unexpected error", extra={"fields": {"method": scope["method"], "path": scope["path"]}})
            if not sent_start:
                await unexpected()(scope, receive, send_with_id)
        finally:
            route = _route(scope)
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    }
                },
            )
            request_id.reset(token)


class _BodyTooLargeError(Exception):
    pass


def _too_large(limit: int) -> JSONResponse:
    message = f"The request body is larger than {limit // 1024} KiB."
    return error_response(413, "too_large", message, "Send a shorter question or less history.")


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
