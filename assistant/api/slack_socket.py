"""Slack without a public ingress: the same Bolt app as `POST /slack/events`, over Socket Mode (Bolt's built-in
Socket Mode handler). The process opens a WebSocket to Slack with the app-level token (`apps.connections.open`)
and Slack sends every event, slash command and click through it; nothing has to reach this machine.

`assistant slack` runs it (ASSISTANT_SLACK_APP_TOKEN and ASSISTANT_SLACK_BOT_TOKEN), beside or instead of the
HTTP mode; `slack/manifest-socket-mode.yaml` creates the app for it.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler

from assistant.api.observability import Metrics
from assistant.api.slack import make_bolt_app
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.service import Service

log = logging.getLogger("assistant.slack")

HINT = (
    "Set ASSISTANT_SLACK_APP_TOKEN (xapp-..., Basic Information > App-Level Tokens, scope connections:write) and "
    "ASSISTANT_SLACK_BOT_TOKEN (xoxb-...)."
)


def make_socket_handler(settings: Settings, service: Service) -> SocketModeHandler:
    """The Socket Mode handler for the Bolt app: `connect()` opens the WebSocket and returns, `start()` blocks."""
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    bot_token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    if not (app_token and bot_token):
        raise ConfigError("Slack's Socket Mode needs an app-level token and a bot token.", hint=HINT)
    if not app_token.startswith("xapp-"):
        raise ConfigError("ASSISTANT_SLACK_APP_TOKEN is not an app-level token (xapp-...).", hint=HINT)
    bolt = make_bolt_app(settings, service, Metrics(), bot_token=bot_token)
    return SocketModeHandler(bolt, app_token=app_token, logger=bolt.logger)


def run_socket_mode(settings: Settings, service: Service) -> None:
    """Load the model and the index, then serve Slack over Socket Mode until interrupted."""
    handler = make_socket_handler(settings, service)
    service.warm_up()
    log.info("slack: connecting over Socket Mode")
    handler.start()  # type: ignore[no-untyped-call]
