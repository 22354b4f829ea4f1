"""`POST /slack/events`: Slack's requests over HTTP, checked before anything parses them, then handed to the Bolt
app (slack.py).

Every request is checked first: Slack's signature over the raw bytes within 5 minutes (401 otherwise), then that
it is a Slack payload at all (400); Bolt verifies it again. Slack's SDK and the Bolt app are imported and built on
the first request that passes, never at start-up: a server Slack never calls never holds them (about 175 modules).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from assistant.api.errors import error_response
from assistant.config import Settings

if TYPE_CHECKING:
    from slack_bolt import App

SIGNATURE_WINDOW = 5 * 60  # seconds a signed request stays valid
HINT = "Set ASSISTANT_SLACK_SIGNING_SECRET and ASSISTANT_SLACK_BOT_TOKEN, then restart the API."


def mount_slack(app: FastAPI) -> None:
    """Add `POST /slack/events` (events, slash commands and interactivity) to `app`."""
    bolt: App | None = None

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        nonlocal bolt
        settings: Settings = app.state.settings
        secret, token = _secret(settings.slack_signing_secret), _secret(settings.slack_bot_token)
        if not (secret and token):
            return error_response(503, "slack_not_configured", "Slack is not configured on this server.", HINT)
        body = await request.body()
        if not signed(secret, body, request.headers):  # before anything reads the body
            message = "The request is not signed by Slack (or its signature is older than 5 minutes)."
            return error_response(401, "unauthorized", message)
        if not well_formed(body, request.headers.get("content-type", "")):
            return error_response(400, "bad_request", "The request is signed but is not a Slack payload.")
        from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

        if bolt is None:
            from assistant.api.slack import make_bolt_app

            bolt = make_bolt_app(settings, app.state.service, app.state.metrics, bot_token=token, signing_secret=secret)
        # What Bolt's FastAPI adapter (SlackRequestHandler.handle) does, except that `dispatch`, which sleeps
        # until the listener has acknowledged, runs in a worker thread instead of blocking the event loop.
        bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)


def signed(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Slack's v0 signature over the raw bytes, within 5 minutes; anything malformed is simply not signed."""
    timestamp, signature = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(int(time.time()) - int(timestamp)) > SIGNATURE_WINDOW:
        return False
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}", signature)


def well_formed(body: bytes, content_type: str) -> bool:
    """A JSON object (events), or a form (slash commands) whose `payload`, if any, is a JSON object (clicks)."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            return isinstance(json.loads(text), dict)
        form = parse_qs(text, strict_parsing=bool(text), errors="strict")
        return "payload" not in form or isinstance(json.loads(form["payload"][0]), dict)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors too
        return False


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
