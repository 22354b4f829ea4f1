"""OpenAI's error shape on the OpenAI-compatible routes (/v1/chat/completions, /v1/models): clients written for
OpenAI read `error.message`, `error.type`, `error.param` and `error.code`.

An ASGI middleware outside every other one, so that the refusals of the gate (401, 429) and of the request
context (413, 500) are reshaped as well as the routes' own errors. The body keeps this API's `hint`, `request_id`
and `fields`; other routes keep `{"error": {"code", "message", "hint"}}`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PATHS = ("/v1/chat/completions", "/v1/models")
TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error"}


def is_openai_path(path: str) -> bool:
    return path in PATHS or path.startswith("/v1/models/")


def openai_error(body: Any, status: int) -> Any:
    """`{"error": {"code", "message", "hint", ...}}` as OpenAI's `{"error": {"message", "type", "param", "code"}}`
    (keeping the rest); any other body unchanged."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or "type" in error:
        return body
    fields: list[dict[str, str]] = error.get("fields", [])
    param = fields[0]["field"].partition(".")[2] or None if fields else None
    kind = TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
    reshaped = {"message": error.get("message", ""), "type": kind, "param": param, "code": error.get("code", "")}
    return {"error": reshaped | {key: value for key, value in error.items() if key not in reshaped}}


class OpenAIErrors:
    """Rewrites JSON error bodies (status 400 and above) on the OpenAI-compatible paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_openai_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def reshaping_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400 and _json(message):
                start = message  # held until the whole body is here
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = json.dumps(openai_error(json.loads(b"".join(chunks)), start["status"])).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, reshaping_send)


def _json(start: Message) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"application/json") for k, v in start.get("headers", []))
