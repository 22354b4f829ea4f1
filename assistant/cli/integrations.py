"""Commands that connect Mesh Assistant to where engineers already ask: `mcp` (an MCP server on stdin and stdout,
for a coding assistant's configuration) and `slack` (Slack over Socket Mode, without a public endpoint)."""

from __future__ import annotations

import anyio

from assistant.cli.app import app, service
from assistant.cli.serving import require


@app.command()
def mcp() -> None:
    """Serve MCP over stdin and stdout (tools recommend, ask, search, ratings, features): the command a local MCP
    client runs. The same tools are served over HTTP at /mcp by `assistant serve`."""
    require("mcp")
    from assistant.api.mcp import serve_stdio
    from assistant.api.observability import configure_logging
    from assistant.config import get_settings

    configure_logging(get_settings().log_level)  # log lines on stderr: stdout carries the protocol
    anyio.run(serve_stdio, service())


@app.command()
def slack() -> None:
    """Answer Slack over Socket Mode (no public HTTPS endpoint needed): needs ASSISTANT_SLACK_APP_TOKEN (xapp-...)
    and ASSISTANT_SLACK_BOT_TOKEN (xoxb-...). `assistant serve` answers Slack over HTTP instead."""
    require("slack_bolt")
    from assistant.api.observability import configure_logging
    from assistant.api.slack_socket import run_socket_mode
    from assistant.config import get_settings

    settings = get_settings()
    configure_logging(settings.log_level)
    run_socket_mode(settings, service())
