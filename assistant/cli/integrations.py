"""Commands that connect Mesh Assistant to where engineers already ask: `mcp` (an MCP server on stdin and stdout,
for a coding assistant's configuration)."""

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
