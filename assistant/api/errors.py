"""One place where errors become HTTP responses: `{"error": {"code", "message", "hint"}}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from assistant.api.observability import request_id
from assistant.errors import AssistantError, ConfigError, TooLargeError, UnavailableError, UserError

log = logging.getLogger("assistant.api")

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              406: "not_acceptable", 413: "too_large", 415: "unsupported_media_type", 429: "rate_limited",
              503: "unavailable"}  # fmt: skip


def error_response(
    status: int, code: str, message: str, hint: str = "", *, fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:  # fmt: skip
    body = {"code": code, "message": message, "hint": hint, "request_id": request_id.get()}
    if fields:
        body["fields"] = fields  # type: ignore[assignment]
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def invalid_request(fields: list[tuple[str, str]]) -> JSONResponse:
    """422 naming each invalid field (`body.question`, `query.k`, `body` for the body as a whole) and its problem."""
    names = ", ".join(field for field, _ in fields[:5])
    return error_response(
        422, "invalid_request", f"The request is not valid: {names}.", "See `fields` and the OpenAPI schema.",
        fields=[{"field": field, "problem": problem} for field, problem in fields],
    )  # fmt: skip


def unexpected() -> JSONResponse:
    return error_response(500, "internal", "Something went wrong on our side.", "Report the request id.")


def status_of(exc: AssistantError) -> int:
    if isinstance(exc, TooLargeError):
        return 413
    if isinstance(exc, ConfigError):
        return 503
    if isinstance(exc, UserError):
        return 422
    if isinstance(exc, UnavailableError):
        return 503
    return 500


def install(app: FastAPI) -> None:
    @app.exception_handler(AssistantError)
    async def assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        return error_response(status_of(exc), exc.code, exc.message, exc.hint)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_request(
            [
                (".".join(str(part) for part in error.get("loc", ())), str(error.get("msg", "")))
                for error in exc.errors()
            ]
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))
